"""Held-out document similarity: Spearman correlation between the cosine similarity of two
documents' embeddings and the mean human judgement (the Lee corpus, ``modules/data/lee.py``).

The pooling study never trains, validates or selects on it, so it tells whether training on STS-B
made a better general-purpose embedder or only fitted STS-B. Reported as its own task type,
``heldout/<name>/spearman``.
"""

from __future__ import annotations

import numpy as np

from modules.data.lee import DocumentSimilarity
from modules.evaluation.result import Encoder, EvalResult, l2_normalize
from modules.evaluation.sts import correlation_result


class DocumentSimilarityEvaluator:
    """Spearman's rho (cosine vs human similarity) over every judged document pair."""

    def __init__(self, data: DocumentSimilarity, name: str = "lee") -> None:
        if len(data.pairs) < 2:
            raise ValueError("DocumentSimilarityEvaluator needs at least two pairs")
        self.data = data
        self.name = name

    def texts(self) -> list[str]:
        """Every text this evaluator encodes."""
        return list(self.data.documents)

    def evaluate(self, encode: Encoder) -> EvalResult:
        emb = l2_normalize(encode(self.texts()))
        first = np.array([p[0] for p in self.data.pairs])
        second = np.array([p[1] for p in self.data.pairs])
        cosine = np.sum(emb[first] * emb[second], axis=1)
        gold = np.array([p[2] for p in self.data.pairs], dtype=np.float64)
        return correlation_result(f"heldout/{self.name}", cosine, gold)
