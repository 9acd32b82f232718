"""The result of one evaluator: a main score, extra scores, and per-example data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from modules.contract.per_example import STATISTICS

Encoder = Callable[[list[str]], np.ndarray]
"""Maps a list of texts to an array of shape (len(texts), dim)."""

__all__ = ["STATISTICS", "EvalResult", "Encoder", "l2_normalize"]


@dataclass
class EvalResult:
    """``value`` is ``statistic`` computed on ``per_example``.

    ``per_example`` has an ``example_id`` column and either ``score`` (statistic "mean": the metric
    is the mean of ``score``) or ``prediction`` and ``target`` (statistics "spearman" and
    "v_measure": the metric is recomputed from both columns).
    """

    metric: str
    value: float
    extra: dict[str, float] = field(default_factory=dict)
    per_example: pd.DataFrame = field(default_factory=pd.DataFrame)
    statistic: str = "mean"

    @classmethod
    def from_correct(cls, metric: str, correct: Any, **columns: Any) -> EvalResult:
        """Accuracy as the mean of per-example correctness (0/1, in example order); ``columns``
        are extra per-example columns (e.g. a group label) written beside ``score``."""
        score = np.asarray(correct, dtype=float)
        frame = pd.DataFrame({"example_id": np.arange(len(score)), "score": score, **columns})
        return cls(metric, float(score.mean()), per_example=frame)

    def metrics(self) -> dict[str, float]:
        """``{metric: value, **extra}`` as plain floats, ready to report."""
        return {self.metric: float(self.value), **{k: float(v) for k, v in self.extra.items()}}


def l2_normalize(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit norm (zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms == 0, 1.0, norms)
