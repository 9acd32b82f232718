"""The paired (sign-flip) permutation test over per-example scores, stratified by seed.

Under the null hypothesis that two models are exchangeable on every example, swapping their outputs
on any subset of examples leaves the joint distribution unchanged. A resample draws one swap bit per
example; the statistic (mean score, Spearman with the target, V-measure against the labels) is
recomputed for both sides, and the test statistic is the mean over seed-matched model pairs (strata)
of the per-pair difference A − B. Swaps happen only within a pair, so every seed is its own stratum.

Every stratum's own p-value comes from the same resamples as the combined one, at no extra cost.
P-values are two-sided, ``(1 + #{|T*| >= |T|}) / (1 + B)`` (Phipson & Smyth, 2010, "Permutation
P-values Should Never Be Zero"): the sign-flip null is symmetric (swapping every example negates T),
so comparing absolute values is exact, and the smallest attainable p is ``1 / (B + 1)``.

Why our own code rather than ``scipy.stats.permutation_test``: scipy recomputes the statistic on
fully materialised resamples through a generic callable. Here the mean difference and the Spearman
difference are affine in the swap bits (Spearman up to a per-resample correction of the few tied
values, :mod:`sweeps.analysis.spearman_swaps`), so a batch of resamples is one matrix-vector
product: 10^4 to 10^5 resamples, the counts that a family of dozens of design pairs needs, stay
cheap. V-measure counts contingency cells (:mod:`sweeps.analysis.vmeasure_swaps`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sweeps.analysis.per_example import PairedExamples
from sweeps.analysis.spearman_swaps import spearman_difference
from sweeps.analysis.swaps import Affine, Unpacked, packed_width
from sweeps.analysis.vmeasure_swaps import VMeasureDifference

BATCH = 512  # resamples evaluated at once (memory: BATCH x examples per stratum)


@dataclass
class PermutationResult:
    """Observed differences (A − B) and two-sided p-values, combined and per stratum."""

    diff: float
    p: float
    n_resamples: int
    stratum_diffs: list[float]
    stratum_ps: list[float]


def permutation_test(
    pairs: list[PairedExamples], statistic: str, n_resamples: int, seed: int
) -> PermutationResult:
    """The stratified paired permutation test of A against B over ``pairs`` (one per seed)."""
    if not pairs:
        return PermutationResult(float("nan"), float("nan"), 0, [], [])
    fns = [_stratum_statistic(pair, statistic) for pair in pairs]
    widths = [packed_width(len(p.a)) for p in pairs]
    observed = np.array([fn(np.zeros((1, w), np.uint8))[0] for fn, w in zip(fns, widths, strict=True)])
    combined = float(np.mean(observed))
    if not np.isfinite(combined):
        nan = float("nan")
        return PermutationResult(combined, nan, 0, observed.tolist(), [nan] * len(pairs))
    rng = np.random.default_rng(seed)
    exceed_combined, exceed = 0, np.zeros(len(pairs), int)
    done = 0
    while done < n_resamples:
        size = min(BATCH, n_resamples - done)
        diffs = np.stack(
            [fn(rng.integers(0, 256, (size, w), np.uint8)) for fn, w in zip(fns, widths, strict=True)]
        )  # strata x resamples; one random bit per example, packed 8 to a byte
        exceed += np.sum(_at_least(diffs, observed[:, None]), axis=1)
        exceed_combined += int(np.sum(_at_least(np.mean(diffs, axis=0), combined)))
        done += size
    p_strata = (1 + exceed) / (1 + n_resamples)
    p_strata = np.where(np.isfinite(observed), p_strata, np.nan)
    return PermutationResult(
        combined,
        float((1 + exceed_combined) / (1 + n_resamples)),
        n_resamples,
        observed.tolist(),
        p_strata.tolist(),
    )


def _at_least(resampled: np.ndarray, observed: np.ndarray | float) -> np.ndarray:
    """|T*| >= |T| with a relative tolerance (floating-point ties count as ties, as in scipy)."""
    observed = np.abs(observed)
    return np.abs(resampled) >= observed * (1 - 1e-12) - 1e-14


def _stratum_statistic(pair: PairedExamples, statistic: str):
    """``f(packed swap bits) -> stat(A') − stat(B')`` for a batch of resamples."""
    a, b = np.asarray(pair.a), np.asarray(pair.b)
    if statistic == "mean":
        d = a.astype(float) - b.astype(float)  # a swap turns d_i into -d_i
        return Affine(-2 * d / len(d), float(d.mean()))
    if statistic == "spearman":
        return spearman_difference(a.astype(float), b.astype(float), pair.target)
    if statistic == "v_measure":
        return Unpacked(VMeasureDifference(a, b, pair.target), len(a))
    raise ValueError(f"unknown per-example statistic {statistic!r}")
