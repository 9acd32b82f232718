"""The Spearman difference ``rho(A', target) - rho(B', target)`` of a batch of swap resamples.

Spearman is the Pearson correlation of average ranks. Sort A ∪ B once (stably): a value's ordinal
rank in a resample is the count of the resample's values up to its sorted position, and the
difference of the two sides' ordinal-rank numerators is affine in the swap bits
(:func:`spearman_difference`). Values that repeat across examples share an average rank; only
the tied entries need a per-resample count (:class:`FewTies`), and when a resample's two sides
hold differently sized tie groups (their rank spreads differ) it falls back to counting every
rank (:class:`TiedRanks`).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from sweeps.analysis.swaps import Affine, Unpacked, swap_bits

# Above this share of tied entries, counting every rank is cheaper than correcting ordinal ones.
MAX_TIED_SHARE = 0.25


def spearman_difference(a: np.ndarray, b: np.ndarray, target: np.ndarray | None):
    """``f(packed swap bits) -> rho(A') - rho(B')``; with x_i the ordinal rank of A'_i and y_i of
    B'_i, x_i − y_i = C[p_a(i)] + C[p_b(i)] − 1 − (p_a(i) if swapped else p_b(i)), where C counts
    the values of A' up to a sorted position and p_a, p_b are A_i's and B_i's positions: the swap
    of example i enters only linearly, so the difference of the numerators is affine in the swaps."""
    n = len(a)
    t = stats.rankdata(np.asarray(target, float))
    t_centred = t - t.mean()
    t_norm = np.sqrt(np.sum(t_centred**2))
    if t_norm == 0:
        return Unpacked(lambda swap: np.full(len(swap), np.nan), n)
    values = np.concatenate([a, b])
    order = np.argsort(values, kind="stable")
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
    if not cross_example_ties(a, b):
        scale = np.sqrt(n * (n * n - 1) / 12.0) * t_norm
        return Affine(slope / scale, intercept / scale)
    exact = Unpacked(TiedRanks(a, b, t_centred, t_norm), n)
    tied = _tied_entries(values[order], order % n)
    if tied.sum() > MAX_TIED_SHARE * 2 * n:
        return exact
    entries = order[tied]  # index into A ∪ B of each tied entry, in sorted order
    return FewTies(Affine(slope, intercept), entries, values[entries], t_centred, t_norm, exact)


def _tied_entries(sorted_values: np.ndarray, example: np.ndarray) -> np.ndarray:
    """Sorted positions whose value occurs at two or more examples. A tie within one example
    (A_i = B_i and no other) is left out: a resample puts one of the two on each side."""
    _, group, sizes = np.unique(sorted_values, return_inverse=True, return_counts=True)
    end = np.cumsum(sizes) - 1
    one_example = (sizes == 2) & (example[end] == example[end - 1])
    return (sizes[group] > 1) & ~one_example[group]


class FewTies:
    """The Spearman difference when a few values repeat across examples: the affine difference of
    ordinal-rank numerators plus, per side, the average-rank correction of its tie groups
    (``(c + 1) / 2 - k`` for the k-th of c tied values picked), over a denominator with the tie
    term ``sum (c^3 - c) / 12``. Exact when both sides hold the same tie sizes (always so when the
    ties come from identical inputs, e.g. duplicate STS-B pairs); other resamples go to ``exact``."""

    def __init__(
        self,
        ordinal: Affine,
        entries: np.ndarray,
        values: np.ndarray,
        t_centred: np.ndarray,
        t_norm: float,
        exact: Unpacked,
    ) -> None:
        n = len(t_centred)
        self.ordinal, self.exact, self.n, self.t_norm = ordinal, exact, n, t_norm
        self.example = entries % n
        self.side = (entries >= n).astype(np.uint8)  # 0: from A, 1: from B
        self.weight = t_centred[self.example]
        _, self.group, sizes = np.unique(values, return_inverse=True, return_counts=True)
        self.end = np.cumsum(sizes) - 1  # last entry of each tie group (entries are sorted)
        self.start = self.end - sizes + 1

    def __call__(self, packed: np.ndarray) -> np.ndarray:
        in_a = (swap_bits(packed, self.example) == self.side).astype(float)  # entry is in A'
        correction_a, excess_a = self._ties(in_a)
        correction_b, excess_b = self._ties(1.0 - in_a)
        spread = (self.n**3 - self.n - excess_a) / 12.0  # sum of squared centred average ranks
        with np.errstate(invalid="ignore", divide="ignore"):
            result = (self.ordinal(packed) + correction_a - correction_b) / (
                np.sqrt(spread) * self.t_norm
            )
        other = (excess_a != excess_b) | (spread <= 0)
        if other.any():
            result[other] = self.exact(packed[other])
        return result

    def _ties(self, picked: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rank correction of the numerator, sum of c^3 - c) of one side, per resample."""
        running = np.cumsum(picked, axis=1)
        before = np.where(self.start > 0, running[:, np.maximum(self.start - 1, 0)], 0.0)
        count = running[:, self.end] - before
        within = running - before[:, self.group]  # k: the entry is its group's k-th picked value
        correction = (picked * ((count[:, self.group] + 1) / 2 - within)) @ self.weight
        return correction, np.sum(count**3 - count, axis=1)


def cross_example_ties(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether some value appears at two different examples (in A or B): a resample may then hold
    tied predictions. A tie within one example (A and B equal there) does not matter."""
    values = np.concatenate([a, b])
    examples = np.concatenate([np.arange(len(a)), np.arange(len(b))])
    distinct = np.unique(np.stack([values, examples]), axis=1)
    return len(np.unique(distinct[0])) < distinct.shape[1]


class TiedRanks:
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
