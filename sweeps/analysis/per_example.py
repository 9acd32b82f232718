"""Per-example scores of a run and metric, the statistic recomputed from them, the paired test.

Contract (written by the evaluators): ``per_example/index.json`` maps a metric name to
``{"file": <csv>, "statistic": "mean" | "spearman" | "v_measure"}``; ``file`` is relative to the
artifact root (``per_example/x.csv``) or to ``per_example/`` (``x.csv``). A CSV has ``example_id``
and either ``score`` (mean) or ``prediction`` and ``target`` (spearman, v_measure).

Test: a paired permutation test (``scipy.stats.permutation_test``, ``permutation_type="samples"``)
that swaps the two runs' outputs per example and recomputes the statistic on every resample. Across
seeds it is stratified: each seed-matched run pair contributes its own examples, swaps happen only
within a pair, and the test statistic is the mean over seeds of the per-seed difference.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import v_measure_score

STATISTICS = ("mean", "spearman", "v_measure")


@dataclass
class PerExample:
    statistic: str  # mean | spearman | v_measure
    frame: pd.DataFrame  # example_id + score, or example_id + prediction + target


def read_per_example(root: Path, entry: dict) -> PerExample | None:
    """Read one index entry; ``root`` is the local ``per_example/`` folder. None if unusable."""
    statistic = str(entry.get("statistic", "mean"))
    name = str(entry.get("file", ""))
    if statistic not in STATISTICS or not name:
        return None
    candidates = [root.parent / name, root / name, root / Path(name).name]
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        return None
    frame = pd.read_csv(path)
    needed = ["score"] if statistic == "mean" else ["prediction", "target"]
    if "example_id" not in frame or any(c not in frame for c in needed):
        return None
    return PerExample(statistic, frame[["example_id", *needed]])


def statistic_of(statistic: str) -> Callable[[np.ndarray, np.ndarray | None], float]:
    """``f(values, target) -> float`` recomputing a metric from per-example outputs."""
    if statistic == "mean":
        return lambda values, target: float(np.mean(values))
    if statistic == "spearman":
        return lambda values, target: float(stats.spearmanr(values, target).statistic)
    if statistic == "v_measure":
        return lambda values, target: float(v_measure_score(target, values))
    raise ValueError(f"unknown per-example statistic {statistic!r}")


def recompute(scores: PerExample) -> float:
    """The metric value recomputed from a run's per-example scores."""
    if scores.statistic == "mean":
        return statistic_of("mean")(scores.frame["score"].to_numpy(float), None)
    return statistic_of(scores.statistic)(
        scores.frame["prediction"].to_numpy(), scores.frame["target"].to_numpy()
    )


@dataclass
class PairedExamples:
    """A seed-matched run pair aligned on example_id: outputs of A, of B, the shared target."""

    a: np.ndarray
    b: np.ndarray
    target: np.ndarray | None


def align(a: PerExample, b: PerExample) -> PairedExamples | None:
    """Inner-join two runs' per-example scores on example_id; None if they cannot be paired."""
    if a.statistic != b.statistic:
        return None
    column = "score" if a.statistic == "mean" else "prediction"
    merged = a.frame.merge(b.frame, on="example_id", suffixes=("_a", "_b"))
    if len(merged) < 2:
        return None
    target = None if a.statistic == "mean" else merged["target_a"].to_numpy()
    return PairedExamples(
        merged[f"{column}_a"].to_numpy(), merged[f"{column}_b"].to_numpy(), target
    )


def _batched(statistic: str) -> Callable[[np.ndarray, np.ndarray | None], np.ndarray] | None:
    """The statistic along the last axis of a batch of resamples (None: only 1-D is available)."""
    if statistic == "mean":
        return lambda values, target: np.mean(values, axis=-1)
    if statistic == "spearman":  # Spearman = Pearson of average ranks (what spearmanr computes)

        def spearman(values: np.ndarray, target: np.ndarray | None) -> np.ndarray:
            ranks = stats.rankdata(values, axis=-1)
            target_ranks = np.broadcast_to(stats.rankdata(target), ranks.shape)
            with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
                warnings.simplefilter("ignore")  # a constant resample: NaN, like spearmanr
                return stats.pearsonr(ranks, target_ranks, axis=-1).statistic

        return spearman
    if statistic == "v_measure":
        return _v_measure_batched
    return None


def _entropy(counts: np.ndarray) -> np.ndarray:
    """Shannon entropy (nats) of count vectors along the last axis."""
    total = counts.sum(axis=-1, keepdims=True)
    p = np.where(counts > 0, counts / np.maximum(total, 1), 1.0)
    return -(np.where(counts > 0, p * np.log(p), 0.0)).sum(axis=-1)


def _v_measure_batched(values: np.ndarray, target: np.ndarray | None) -> np.ndarray:
    """V-measure (Rosenberg & Hirschberg, 2007) of each row of ``values`` against ``target``.

    The same quantity as scikit-learn's ``v_measure_score`` (a test checks it), from contingency
    counts with ``np.bincount``: scikit-learn's per-call validation made the permutation test over
    clustering assignments cost ~9 s per design pair and seed; this batched form is ~100x faster.
    """
    rows = np.atleast_2d(np.asarray(values))
    _, t = np.unique(np.asarray(target), return_inverse=True)
    _, c = np.unique(rows, return_inverse=True)
    c = c.reshape(rows.shape)
    n_t, n_c = int(t.max()) + 1, int(c.max()) + 1
    offsets = np.arange(rows.shape[0])[:, None] * (n_t * n_c)
    flat = np.bincount((offsets + t[None, :] * n_c + c).ravel(), minlength=rows.shape[0] * n_t * n_c)
    table = flat.reshape(rows.shape[0], n_t, n_c).astype(float)
    h_t, h_c = _entropy(table.sum(axis=2)), _entropy(table.sum(axis=1))
    h_joint = _entropy(table.reshape(rows.shape[0], -1))
    mutual = h_t + h_c - h_joint
    homogeneity = np.where(h_t > 0, mutual / np.where(h_t > 0, h_t, 1), 1.0)
    completeness = np.where(h_c > 0, mutual / np.where(h_c > 0, h_c, 1), 1.0)
    total = homogeneity + completeness
    result = np.where(total > 0, 2 * homogeneity * completeness / np.where(total > 0, total, 1), 0.0)
    return result if np.ndim(values) > 1 else result[0]


def permutation_test(
    pairs: list[PairedExamples], statistic: str, n_resamples: int, seed: int
) -> tuple[float, float]:
    """(observed mean-over-pairs difference A − B, two-sided p) of the paired permutation test.

    ``mean`` and ``spearman`` are evaluated on whole batches of resamples (vectorized);
    ``v_measure`` once per resample with scikit-learn.
    """
    if not pairs:
        return float("nan"), float("nan")
    bounds = list(
        zip(
            np.cumsum([0] + [len(p.a) for p in pairs])[:-1],
            np.cumsum([len(p.a) for p in pairs]),
            strict=True,
        )
    )
    targets = [p.target for p in pairs]
    batched = _batched(statistic)
    fn = batched or statistic_of(statistic)

    def difference(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
        diffs = [
            np.asarray(fn(x[..., lo:hi], targets[i])) - np.asarray(fn(y[..., lo:hi], targets[i]))
            for i, (lo, hi) in enumerate(bounds)
        ]
        return np.mean(diffs, axis=0)

    x = np.concatenate([p.a for p in pairs])
    y = np.concatenate([p.b for p in pairs])
    if batched is not None:
        x, y = x.astype(float), y.astype(float)
    observed = float(difference(x, y))
    if not np.isfinite(observed):
        return observed, float("nan")
    result = stats.permutation_test(
        (x, y),
        difference,
        permutation_type="samples",
        vectorized=batched is not None,
        n_resamples=n_resamples,
        rng=np.random.default_rng(seed),
    )
    return observed, float(result.pvalue)
