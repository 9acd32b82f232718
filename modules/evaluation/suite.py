"""The evaluation tasks of the pooling study, built from bundled data at configurable sizes.

STS and retrieval use the STS-B test split (gold scores are present there); classification trains
on a 20 Newsgroups train subset and tests on a 20NG test subset; clustering uses another 20NG test
subset. Subsets are stratified (``size // 20`` documents per newsgroup) and seeded; ``None`` means
the whole split. With ``heldout=True`` a fifth task, held-out document similarity on the Lee
corpus (``doc_similarity.py``), which the study never tunes on. All texts are encoded in one call,
so an encoder sees each distinct text once.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from modules.data.lee import load_lee
from modules.data.newsgroups import TextDataset, load_newsgroups
from modules.data.stsb import load_stsb
from modules.evaluation.classification import ClassificationEvaluator
from modules.evaluation.clustering import ClusteringEvaluator
from modules.evaluation.doc_similarity import DocumentSimilarityEvaluator
from modules.evaluation.result import Encoder, EvalResult
from modules.evaluation.retrieval import RetrievalEvaluator
from modules.evaluation.sts import STSEvaluator

N_NEWSGROUPS = 20
Evaluator = (
    STSEvaluator
    | RetrievalEvaluator
    | ClassificationEvaluator
    | ClusteringEvaluator
    | DocumentSimilarityEvaluator
)


def _per_class(size: int | None) -> int | None:
    return None if size is None else max(1, size // N_NEWSGROUPS)


def _truncate(data: TextDataset, max_chars: int | None) -> TextDataset:
    if max_chars is None:
        return data
    return replace(data, texts=[t[:max_chars] for t in data.texts])


class EvaluationSuite:
    """STS (Spearman), retrieval (nDCG@10, MRR@10), classification (accuracy), clustering
    (V-measure), and with ``heldout`` held-out document similarity (Lee corpus, Spearman). Sizes:
    STS pairs, retrieval queries and corpus documents (``None``: the split's 1,337), classification
    train/test documents and clustering documents; 20NG texts are cut to ``max_chars`` characters."""

    def __init__(
        self,
        sts_pairs: int | None = 500,
        retrieval_queries: int | None = 200,
        retrieval_corpus: int | None = None,
        classification_train: int | None = 1000,
        classification_test: int | None = 500,
        clustering_docs: int | None = 500,
        max_chars: int | None = 1000,
        seed: int = 0,
        heldout: bool = False,
    ) -> None:
        test_pairs = load_stsb("test")
        order = np.random.default_rng(seed).permutation(len(test_pairs))
        if sts_pairs is not None:
            order = order[:sts_pairs]
        self.sts = STSEvaluator([test_pairs[i] for i in sorted(order)])
        self.retrieval = RetrievalEvaluator.from_pairs(
            test_pairs, max_queries=retrieval_queries, max_corpus=retrieval_corpus, seed=seed
        )
        train = load_newsgroups(
            "train", limit_per_class=_per_class(classification_train), seed=seed
        )
        test = load_newsgroups("test", limit_per_class=_per_class(classification_test), seed=seed)
        self.classification = ClassificationEvaluator(
            _truncate(train, max_chars), _truncate(test, max_chars), seed=seed
        )
        cluster = load_newsgroups(
            "test", limit_per_class=_per_class(clustering_docs), seed=seed + 1
        )
        self.clustering = ClusteringEvaluator(_truncate(cluster, max_chars), seed=seed)
        self.heldout = DocumentSimilarityEvaluator(load_lee()) if heldout else None

    @property
    def evaluators(self) -> list[Evaluator]:
        """Every evaluator, in report order."""
        tasks = [self.sts, self.retrieval, self.classification, self.clustering, self.heldout]
        return [e for e in tasks if e is not None]

    @property
    def reference_evaluators(self) -> list[Evaluator]:
        """The similarity tasks (STS-B, held-out) on which a trained model is compared with
        untrained references (cheap: no classifier or clustering to fit)."""
        return [e for e in (self.sts, self.heldout) if e is not None]

    def texts(self) -> list[str]:
        """Every distinct text the suite encodes, in first-seen order (for precomputed caches)."""
        return list(dict.fromkeys(t for e in self.evaluators for t in e.texts()))

    def run(
        self, encode: Encoder, evaluators: list[Evaluator] | None = None
    ) -> list[EvalResult]:
        """Encode the texts once with ``encode`` and run ``evaluators`` (default: all)."""
        evaluators = self.evaluators if evaluators is None else evaluators
        texts = list(dict.fromkeys(t for e in evaluators for t in e.texts()))
        embeddings = np.asarray(encode(texts))
        if embeddings.shape[0] != len(texts):
            raise ValueError(f"encode returned {embeddings.shape[0]} rows for {len(texts)} texts")
        row = {text: i for i, text in enumerate(texts)}

        def lookup(batch: list[str]) -> np.ndarray:
            return embeddings[[row[t] for t in batch]]

        return [evaluator.evaluate(lookup) for evaluator in evaluators]
