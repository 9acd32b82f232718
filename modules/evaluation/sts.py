"""Semantic textual similarity: Spearman correlation between the cosine similarity of the two
sentence embeddings and the gold score (as in MTEB and Reimers & Gurevych, 2019, SBERT)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import pearsonr, spearmanr

from modules.data.stsb import STSPair
from modules.evaluation.result import Encoder, EvalResult, l2_normalize


class STSEvaluator:
    """Spearman's rho (cosine vs gold) over ``pairs``; per example: prediction and target."""

    def __init__(self, pairs: list[STSPair], name: str = "stsb") -> None:
        if len(pairs) < 2:
            raise ValueError("STSEvaluator needs at least two pairs")
        self.pairs = pairs
        self.name = name

    def texts(self) -> list[str]:
        """Every text this evaluator encodes."""
        return [p.sentence1 for p in self.pairs] + [p.sentence2 for p in self.pairs]

    def evaluate(self, encode: Encoder) -> EvalResult:
        a = l2_normalize(encode([p.sentence1 for p in self.pairs]))
        b = l2_normalize(encode([p.sentence2 for p in self.pairs]))
        cosine = np.sum(a * b, axis=1)
        gold = np.array([p.score for p in self.pairs], dtype=np.float64)
        return correlation_result(f"sts/{self.name}", cosine, gold)


def correlation_result(prefix: str, cosine: np.ndarray, gold: np.ndarray) -> EvalResult:
    """``<prefix>/spearman`` of predicted vs gold similarities (``<prefix>/pearson`` as an extra),
    with per-example predictions and targets."""
    frame = pd.DataFrame({"example_id": np.arange(len(gold)), "prediction": cosine, "target": gold})
    return EvalResult(
        metric=f"{prefix}/spearman",
        value=float(spearmanr(cosine, gold).statistic),
        extra={f"{prefix}/pearson": float(pearsonr(cosine, gold).statistic)},
        per_example=frame,
        statistic="spearman",
    )
