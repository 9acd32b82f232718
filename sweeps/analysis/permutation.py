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
difference (without ties across examples; else scipy's average ranks per resample) are affine in
the swap bits, so a batch of resamples is one matrix-vector product: 10^4 to 10^5 resamples, the
counts that a family of dozens of design pairs needs, stay cheap. V-measure uses batched counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from sweeps.analysis.per_example import PairedExamples, v_measure_batched

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


def packed_width(n: int) -> int:
    """Bytes holding one swap bit per example."""
    return (n + 7) // 8


class _Affine:
    """A statistic ``intercept + swap @ slope``, evaluated on packed swap bits through a lookup
    table of the 256 partial sums of every group of 8 examples (8 times fewer operations)."""

    def __init__(self, slope: np.ndarray, intercept: float) -> None:
        groups = packed_width(len(slope))
        padded = np.zeros(groups * 8)
        padded[: len(slope)] = slope
        bits = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).astype(float)
        self.table = bits @ padded.reshape(groups, 8).T  # 256 x groups
        self.columns = np.arange(groups)
        self.intercept = intercept

    def __call__(self, packed: np.ndarray) -> np.ndarray:
        return self.table[packed, self.columns].sum(axis=1) + self.intercept


class _Unpacked:
    """Any statistic of a boolean swap matrix (resamples x examples)."""

    def __init__(self, fn, n: int) -> None:
        self.fn, self.n = fn, n

    def __call__(self, packed: np.ndarray) -> np.ndarray:
        return self.fn(np.unpackbits(packed, axis=1, count=self.n).astype(bool))


def _stratum_statistic(pair: PairedExamples, statistic: str):
    """``f(packed swap bits) -> stat(A') − stat(B')`` for a batch of resamples."""
    a, b = np.asarray(pair.a), np.asarray(pair.b)
    if statistic == "mean":
        d = a.astype(float) - b.astype(float)  # a swap turns d_i into -d_i
        return _Affine(-2 * d / len(d), float(d.mean()))
    if statistic == "spearman":
        return _spearman_difference(a.astype(float), b.astype(float), pair.target)
    if statistic == "v_measure":
        target = pair.target
        labels, codes = np.unique(np.concatenate([a, b]), return_inverse=True)
        code_a, code_b, n_codes = codes[: len(a)], codes[len(a) :], len(labels)

        def v_measure(swap: np.ndarray) -> np.ndarray:
            x, y = np.where(swap, code_b, code_a), np.where(swap, code_a, code_b)
            return v_measure_batched(x, target, n_codes) - v_measure_batched(y, target, n_codes)

        return _Unpacked(v_measure, len(a))
    raise ValueError(f"unknown per-example statistic {statistic!r}")


def _cross_example_ties(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether some value appears at two different examples (in A or B): a resample may then hold
    tied predictions. A tie within one example (A and B equal there) does not matter."""
    values = np.concatenate([a, b])
    examples = np.concatenate([np.arange(len(a)), np.arange(len(b))])
    distinct = np.unique(np.stack([values, examples]), axis=1)
    return len(np.unique(distinct[0])) < distinct.shape[1]


def _spearman_difference(a: np.ndarray, b: np.ndarray, target: np.ndarray | None):
    """Spearman = Pearson of average ranks, so without ties across examples the ranks of a
    resample are a permutation of 1..n with constant mean and spread, and each correlation is a dot
    product of ranks with the centred target ranks. Sort A ∪ B once; a value's rank in a resample
    is the count of the resample's values up to it. With x_i = rank of A'_i and y_i of B'_i,
    x_i − y_i = C[p_a(i)] + C[p_b(i)] − 1 − (p_a(i) if swapped else p_b(i)), where C counts the
    values of A' up to a sorted position and p_a, p_b are A_i's and B_i's positions: the swap of
    example i enters only linearly, so the difference of correlations is affine in the swaps."""
    n = len(a)
    t = stats.rankdata(np.asarray(target, float))
    t_centred = t - t.mean()
    t_norm = np.sqrt(np.sum(t_centred**2))
    if t_norm == 0:
        return _Unpacked(lambda swap: np.full(len(swap), np.nan), n)
    if _cross_example_ties(a, b):
        return _Unpacked(_TiedRanks(a, b, t_centred, t_norm), n)
    order = np.argsort(np.concatenate([a, b]), kind="stable")
    position = np.empty(2 * n, int)
    position[order] = np.arange(2 * n)
    pos_a, pos_b = position[:n], position[n:]
    weight = np.zeros(2 * n)
    np.add.at(weight, pos_a, t_centred)
    np.add.at(weight, pos_b, t_centred)
    tail = np.cumsum(weight[::-1])[::-1]  # tail[j] = sum of weight[k] for k >= j
    # sum_i C[p_a(i)] t_i + C[p_b(i)] t_i = sum_j [sorted value j is in A'] tail[j]; A_i is in A'
    # unless example i is swapped, B_i only when it is.
    slope = tail[pos_b] - tail[pos_a] - (pos_a - pos_b) * t_centred
    intercept = np.sum(tail[pos_a]) - np.sum(pos_b * t_centred)
    scale = np.sqrt(n * (n * n - 1) / 12.0) * t_norm
    return _Affine(slope / scale, intercept / scale)


class _TiedRanks:
    """The Spearman difference when values repeat across examples: average ranks of a resample
    from counts over the sorted A ∪ B instead of a sort per resample. A value's average rank is
    (resample's values below its tie group) + (its group's count in the resample + 1) / 2; a
    running count of the resample's picks along the sorted union gives both for every group at
    once, for A' and (by complement) for B'. Each correlation is then a sum over the picked sorted
    positions, weighted by the target rank of the example each position belongs to. Equal to
    ``scipy.stats.rankdata`` (tests)."""

    def __init__(self, a: np.ndarray, b: np.ndarray, t_centred: np.ndarray, t_norm: float) -> None:
        n = len(a)
        values = np.concatenate([a, b])
        order = np.argsort(values, kind="stable")
        position = np.empty(2 * n, int)
        position[order] = np.arange(2 * n)
        self.pos_a, self.pos_b = position[:n], position[n:]
        _, self.group_of, sizes = np.unique(values[order], return_inverse=True, return_counts=True)
        self.group_end = np.cumsum(sizes) - 1  # last sorted position of each tie group
        self.group_start = self.group_end - sizes + 1
        self.weight = np.concatenate([t_centred, t_centred])[order]  # target of a sorted position
        self.n, self.t_norm = n, t_norm

    def __call__(self, swap: np.ndarray) -> np.ndarray:
        n = self.n
        picked = np.zeros((swap.shape[0], 2 * n))  # 1 where the sorted value is in A'
        picked[np.arange(swap.shape[0])[:, None], np.where(swap, self.pos_b, self.pos_a)] = 1.0
        running = np.cumsum(picked, axis=1)
        return self._correlation(picked, running) - self._correlation(
            1.0 - picked, np.arange(1, 2 * n + 1) - running
        )

    def _correlation(self, picked: np.ndarray, running: np.ndarray) -> np.ndarray:
        """Pearson of the resample's average ranks with the centred target ranks."""
        before = np.where(self.group_start > 0, running[:, np.maximum(self.group_start - 1, 0)], 0.0)
        count = running[:, self.group_end] - before
        rank = (before + (count + 1) / 2.0)[:, self.group_of] - (self.n + 1) / 2.0
        rank *= picked  # centred ranks (average ranks sum to n(n+1)/2) at the picked positions
        with np.errstate(invalid="ignore", divide="ignore"):
            return (rank @ self.weight) / (np.sqrt(np.sum(rank**2, axis=1)) * self.t_norm)
