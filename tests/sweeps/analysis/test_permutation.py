"""The sign-flip permutation test: its statistics against scipy, its p-values and resolution."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sweeps.analysis.per_example import PairedExamples, v_measure_batched
from sweeps.analysis.permutation import _stratum_statistic, permutation_test
from sweeps.analysis.spearman_swaps import TiedRanks


def _swaps(rng: np.random.Generator, n: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    packed = rng.integers(0, 256, (count, (n + 7) // 8), np.uint8)
    return packed, np.unpackbits(packed, axis=1, count=n).astype(bool)


@pytest.mark.parametrize("ties", [False, True])
def test_spearman_difference_of_every_resample_equals_scipy(ties):
    rng = np.random.default_rng(1)
    n = 61
    target = rng.integers(0, 6, n).astype(float)  # tied targets, as STS-B gold scores are
    a, b = target + rng.normal(size=n), target + rng.normal(size=n)
    if ties:
        a, b = np.round(a), np.round(b)
    fn = _stratum_statistic(PairedExamples(a, b, target), "spearman")
    packed, swap = _swaps(rng, n, 30)
    expected = [
        stats.spearmanr(np.where(s, b, a), target).statistic
        - stats.spearmanr(np.where(s, a, b), target).statistic
        for s in swap
    ]
    assert np.allclose(fn(packed), expected, atol=1e-12)


@pytest.mark.parametrize("statistic", ["mean", "v_measure"])
def test_mean_and_v_measure_differences_of_every_resample(statistic):
    rng = np.random.default_rng(2)
    n = 45
    target = rng.integers(0, 4, n)
    a, b = rng.integers(0, 4, n), rng.integers(0, 4, n)
    fn = _stratum_statistic(PairedExamples(a, b, target), statistic)
    packed, swap = _swaps(rng, n, 20)
    if statistic == "mean":
        expected = [np.mean(np.where(s, b, a)) - np.mean(np.where(s, a, b)) for s in swap]
    else:
        expected = [
            v_measure_batched(np.where(s, b, a), target) - v_measure_batched(np.where(s, a, b), target)
            for s in swap
        ]
    assert np.allclose(fn(packed), expected, atol=1e-12)


def test_a_clear_difference_reaches_the_smallest_attainable_p():
    rng = np.random.default_rng(3)
    target = rng.normal(size=500)
    pairs = [
        PairedExamples(target + 0.3 * rng.normal(size=500), target + rng.normal(size=500), target)
        for _ in range(3)
    ]
    result = permutation_test(pairs, "spearman", 9999, 0)
    assert result.p == pytest.approx(1 / 10_000)
    assert all(p == pytest.approx(1 / 10_000) for p in result.stratum_ps)
    assert result.diff == pytest.approx(
        np.mean([stats.spearmanr(p.a, target)[0] - stats.spearmanr(p.b, target)[0] for p in pairs])
    )


def test_null_p_values_are_roughly_uniform():
    rng = np.random.default_rng(4)
    ps = []
    for _ in range(200):
        a = (rng.random(80) < 0.7).astype(float)
        b = (rng.random(80) < 0.7).astype(float)
        ps.append(permutation_test([PairedExamples(a, b, None)], "mean", 199, int(rng.integers(1e6))).p)
    ps = np.array(ps)
    assert 0.02 <= np.mean(ps < 0.05) <= 0.10  # size of the test near its nominal 5%
    assert ps.min() >= 1 / 200  # never below 1 / (B + 1)


@pytest.mark.parametrize("n", [2, 9, 300])
def test_tied_spearman_ranks_equal_scipy_rankdata(n):
    """The count-based average ranks used when values repeat across examples."""
    def spearman(x: np.ndarray) -> np.ndarray:  # the reference: scipy's average ranks per resample
        return np.array([stats.spearmanr(row, t).statistic for row in x])

    rng = np.random.default_rng(n)
    a = np.round(rng.normal(size=n), 1)  # heavy ties, within and across A and B
    b = np.round(a + rng.normal(size=n), 1)
    t = stats.rankdata(rng.normal(size=n))
    tc = t - t.mean()
    tn = float(np.sqrt(np.sum(tc**2)))
    swap = rng.integers(0, 2, (64, n)).astype(bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = spearman(np.where(swap, b, a)) - spearman(np.where(swap, a, b))
    assert np.allclose(TiedRanks(a, b, tc, tn)(swap), expected, equal_nan=True)


def test_v_measure_difference_with_one_cluster_on_a_side():
    """One cluster has zero entropy only up to rounding in the k log k form; it must give V = 0."""
    rng = np.random.default_rng(5)
    n = 40
    target = rng.integers(0, 3, n)
    a, b = np.zeros(n, int), rng.integers(0, 3, n)
    fn = _stratum_statistic(PairedExamples(a, b, target), "v_measure")
    packed, swap = _swaps(rng, n, 20)
    packed[0], swap[0] = 0, False  # A' is the single cluster
    expected = [
        v_measure_batched(np.where(s, b, a), target) - v_measure_batched(np.where(s, a, b), target)
        for s in swap
    ]
    assert np.allclose(fn(packed), expected, atol=1e-12)
