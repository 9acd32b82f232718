"""Document crops (Contriever's independent cropping) on Reuters-R8, and their mixing into the
embedding study's training triplets."""

from __future__ import annotations

import pytest

from modules.data.crops import crop_triplets, reuters_crop_triplets
from modules.data.newsgroups import load_reuters
from modules.embedding.datamodule import TripletDataModule


@pytest.fixture(scope="module")
def documents() -> list[str]:
    return load_reuters("r8", "train").texts[:300]


def _holders(span: str, documents: list[str]) -> set[int]:
    """Indices of the documents that contain ``span`` as whole consecutive words."""
    return {i for i, d in enumerate(documents) if f" {span} " in f" {' '.join(d.split())} "}


def test_spans_lie_in_one_document_and_negatives_in_another(documents) -> None:
    triplets = crop_triplets(documents, pairs=60, span_words=12, seed=3)
    assert len(triplets) == 60
    sources = []
    for t in triplets:
        assert all(len(s.split()) == 12 for s in (t.query, t.positive, t.negative))
        query, positive, negative = (_holders(s, documents) for s in (t.query, t.positive, t.negative))
        shared = query & positive
        assert shared  # query and positive are spans of one document
        assert negative and not negative & shared  # the negative is a span of another one
        assert all(len(documents[i].split()) >= 24 for i in shared)
        sources.append(min(shared))
    assert len(set(sources)) > 55  # one pair per drawn document (a few texts repeat in R8)


def test_crops_are_seeded(documents) -> None:
    a = crop_triplets(documents, pairs=20, span_words=12, seed=0)
    assert a == crop_triplets(documents, pairs=20, span_words=12, seed=0)
    assert a != crop_triplets(documents, pairs=20, span_words=12, seed=1)


def test_too_few_long_documents_is_an_error(documents) -> None:
    with pytest.raises(ValueError, match="documents have >= 2000 words"):
        crop_triplets(documents, pairs=5, span_words=1000)


def test_the_data_module_mixes_crops_into_the_stsb_triplets() -> None:
    crops = reuters_crop_triplets(pairs=40, span_words=32, seed=0)
    data = TripletDataModule.from_stsb(
        train_limit=50, dev_limit=8, dev_pairs=10, batch_size=16, documents=crops
    )
    plain = TripletDataModule.from_stsb(train_limit=50, dev_limit=8, dev_pairs=10, batch_size=16)
    assert len(data.train_rows) == 90 and data.train_rows[:50] == plain.train_rows
    assert {t.query for t in crops} <= set(data.train_texts())  # normalization is fitted on them
    seen = [q for batch in data.train_dataloader() for q in batch["query"]]
    assert len(seen) == 80  # 5 full batches of 16 (drop_last), both sources shuffled together
    assert {q for q in seen if q in {t.query for t in crops}} and set(seen) - {t.query for t in crops}
    assert data.dev_rows == plain.dev_rows and data.dev_pairs == plain.dev_pairs
