"""Retrieval by cosine similarity, scored with nDCG@k and MRR@k over binary relevance (the
definitions used by MTEB / BEIR, Thakur et al., 2021).

:meth:`RetrievalEvaluator.from_pairs` builds a task from STS-B: each pair scored at least
``threshold`` makes ``sentence1`` a query and ``sentence2`` a relevant document; the corpus is
every distinct ``sentence2`` of the given pairs (the others act as distractors) plus any extra
``distractors``; ``max_corpus`` keeps every document relevant to a kept query and a seeded random
subset of the distractors, in corpus order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from modules.data.stsb import STSPair
from modules.evaluation.result import Encoder, EvalResult, l2_normalize


def ndcg_at_k(ranked_relevance: np.ndarray, n_relevant: int, k: int) -> float:
    """nDCG@k for one query: ``ranked_relevance`` is 0/1 in rank order (rank 1 first)."""
    gains = np.asarray(ranked_relevance[:k], dtype=np.float64)
    discounts = 1.0 / np.log2(np.arange(2, len(gains) + 2))
    ideal = np.sum(1.0 / np.log2(np.arange(2, min(n_relevant, k) + 2)))
    return float(np.sum(gains * discounts) / ideal) if ideal > 0 else 0.0


def mrr_at_k(ranked_relevance: np.ndarray, k: int) -> float:
    """Reciprocal rank of the first relevant document within the top ``k`` (else 0)."""
    hits = np.flatnonzero(np.asarray(ranked_relevance[:k]) > 0)
    return float(1.0 / (hits[0] + 1)) if len(hits) else 0.0


def _smaller_corpus(
    corpus: list[str], needed: set[str], size: int, rng: np.random.Generator
) -> list[str]:
    """``needed`` plus a random sample of the other documents, ``size`` in all (never fewer than
    ``needed``), in the order of ``corpus``."""
    others = [i for i, text in enumerate(corpus) if text not in needed]
    room = max(size - (len(corpus) - len(others)), 0)
    dropped = set(others) - set(rng.choice(others, room, replace=False).tolist())
    return [text for i, text in enumerate(corpus) if i not in dropped]


class RetrievalEvaluator:
    """Queries against a corpus; ``relevant[i]`` is the set of corpus indices relevant to query i.

    A corpus document whose text equals the query's text and is not relevant is left out of that
    query's ranking (a query finding itself says nothing). Ties keep corpus order.
    """

    def __init__(
        self,
        queries: list[str],
        corpus: list[str],
        relevant: list[set[int]],
        k: int = 10,
        name: str = "stsb",
    ) -> None:
        if len(queries) != len(relevant):
            raise ValueError("queries and relevant must have the same length")
        if not queries or any(not r for r in relevant):
            raise ValueError("every query needs at least one relevant document")
        self.queries = queries
        self.corpus = corpus
        self.relevant = relevant
        self.k = k
        self.name = name

    @classmethod
    def from_pairs(
        cls,
        pairs: list[STSPair],
        threshold: float = 4.0,
        max_queries: int | None = None,
        max_corpus: int | None = None,
        distractors: list[str] | None = None,
        seed: int = 0,
        k: int = 10,
        name: str = "stsb",
    ) -> RetrievalEvaluator:
        """A task from scored pairs; ``max_queries`` keeps a seeded random subset of queries and
        ``max_corpus`` (at least the kept queries' relevant documents) of distractors."""
        corpus = list(dict.fromkeys([p.sentence2 for p in pairs] + list(distractors or [])))
        relevant: dict[str, set[str]] = {}
        for p in pairs:
            if p.score >= threshold:
                relevant.setdefault(p.sentence1, set()).add(p.sentence2)
        queries = list(relevant)
        rng = np.random.default_rng(seed)
        if max_queries is not None and len(queries) > max_queries:
            keep = rng.choice(len(queries), max_queries, replace=False)
            queries = [queries[i] for i in sorted(keep)]
        if max_corpus is not None and len(corpus) > max_corpus:
            corpus = _smaller_corpus(corpus, {d for q in queries for d in relevant[q]}, max_corpus, rng)
        position = {text: i for i, text in enumerate(corpus)}
        found = [{position[d] for d in relevant[q]} for q in queries]
        return cls(queries, corpus, found, k=k, name=name)

    def texts(self) -> list[str]:
        """Every text this evaluator encodes."""
        return list(self.queries) + list(self.corpus)

    def evaluate(self, encode: Encoder) -> EvalResult:
        q = l2_normalize(encode(list(self.queries)))
        d = l2_normalize(encode(list(self.corpus)))
        scores = q @ d.T
        corpus_index = {text: i for i, text in enumerate(self.corpus)}
        ndcg, mrr = [], []
        for i, query in enumerate(self.queries):
            row = scores[i].copy()
            same = corpus_index.get(query)
            if same is not None and same not in self.relevant[i]:
                row[same] = -np.inf
            order = np.argsort(-row, kind="stable")[: self.k]
            ranked = np.array([1 if j in self.relevant[i] else 0 for j in order])
            ndcg.append(ndcg_at_k(ranked, len(self.relevant[i]), self.k))
            mrr.append(mrr_at_k(ranked, self.k))
        frame = pd.DataFrame({"example_id": np.arange(len(ndcg)), "score": ndcg, "mrr": mrr})
        return EvalResult(
            metric=f"retrieval/{self.name}/ndcg_at_{self.k}",
            value=float(np.mean(ndcg)),
            extra={f"retrieval/{self.name}/mrr_at_{self.k}": float(np.mean(mrr))},
            per_example=frame,
            statistic="mean",
        )
