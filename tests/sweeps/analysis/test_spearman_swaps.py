"""The Spearman difference with tied scores: the tie-corrected affine form against scipy's average
ranks, on real STS-B test pairs scored by two character n-gram cosines (their ties are real: the
duplicate pair at examples 9 and 10, and n-gram cosines that coincide)."""

from __future__ import annotations

from collections import Counter
from functools import cache

import numpy as np
import pytest
from scipy import stats

from modules.data.stsb import load_stsb
from sweeps.analysis.per_example import PairedExamples
from sweeps.analysis.permutation import BATCH, permutation_test
from sweeps.analysis.spearman_swaps import FewTies, spearman_difference
from sweeps.analysis.swaps import packed_width, swap_bits

N = 200  # examples per stratum


def _grams(text: str, k: int) -> Counter:
    text = text.lower()
    return Counter(text[i : i + k] for i in range(len(text) - k + 1))


def _cosine(x: Counter, y: Counter) -> float:
    keys = sorted(set(x) | set(y))
    u, v = np.array([x[k] for k in keys], float), np.array([y[k] for k in keys], float)
    return float(u @ v / np.sqrt((u @ u) * (v @ v)))


@cache
def _stsb_pairs(start: int) -> PairedExamples:
    """STS-B test pairs start..start+N: character 3-gram (A) and 4-gram (B) cosines, gold target."""
    pairs = load_stsb("test")[start : start + N]
    a = [_cosine(_grams(p.sentence1, 3), _grams(p.sentence2, 3)) for p in pairs]
    b = [_cosine(_grams(p.sentence1, 4), _grams(p.sentence2, 4)) for p in pairs]
    return PairedExamples(np.array(a), np.array(b), np.array([p.score for p in pairs]))


def _scipy_difference(pair: PairedExamples, swap: np.ndarray) -> np.ndarray:
    """rho(A') - rho(B') from scipy's average ranks of every resample (the reference)."""
    def rho(x: np.ndarray) -> np.ndarray:
        return stats.pearsonr(
            stats.rankdata(x, axis=1), np.broadcast_to(stats.rankdata(pair.target), x.shape), axis=1
        ).statistic

    return rho(np.where(swap, pair.b, pair.a)) - rho(np.where(swap, pair.a, pair.b))


def test_swap_bits_are_the_unpacked_bits():
    rng = np.random.default_rng(0)
    packed = rng.integers(0, 256, (7, 3), np.uint8)
    examples = np.array([0, 5, 8, 17, 20])
    assert np.array_equal(swap_bits(packed, examples), np.unpackbits(packed, axis=1)[:, examples])


def test_tied_stsb_scores_take_the_tie_corrected_path_and_equal_scipy_on_every_resample():
    pair = _stsb_pairs(0)
    fn = spearman_difference(pair.a, pair.b, pair.target)
    assert isinstance(fn, FewTies)  # ties across examples, but few of them
    rng = np.random.default_rng(1)
    packed = rng.integers(0, 256, (300, packed_width(N)), np.uint8)
    packed[0] = 0  # the observed statistic
    swap = np.unpackbits(packed, axis=1, count=N).astype(bool)
    assert np.allclose(fn(packed), _scipy_difference(pair, swap), atol=1e-12)


def test_sides_with_different_tie_sizes_are_counted_exactly():
    """A has a tie that B lacks: resamples keeping the tie on one side only have different rank
    spreads per side and take the counted ranks; all must still equal scipy."""
    pair = _stsb_pairs(0)
    a = pair.a.copy()
    a[3] = a[4]  # a tie in A alone (B's values stay distinct there)
    fn = spearman_difference(a, pair.b, pair.target)
    rng = np.random.default_rng(2)
    packed = rng.integers(0, 256, (200, packed_width(N)), np.uint8)
    swap = np.unpackbits(packed, axis=1, count=N).astype(bool)
    expected = _scipy_difference(PairedExamples(a, pair.b, pair.target), swap)
    assert np.allclose(fn(packed), expected, atol=1e-12)


@pytest.mark.parametrize("n_resamples", [999, BATCH + 37])
def test_p_values_equal_those_of_scipy_ranks_over_the_same_resamples(n_resamples):
    """Same seed, same resamples: the p-value (combined and per stratum) is the one that scipy's
    average ranks give on them, to the last digit."""
    strata = [_stsb_pairs(0), _stsb_pairs(N)]
    result = permutation_test(strata, "spearman", n_resamples, seed=7)
    rng = np.random.default_rng(7)  # the test's draw order: per batch, one block per stratum
    diffs, done = [], 0
    while done < n_resamples:
        size = min(BATCH, n_resamples - done)
        block = [rng.integers(0, 256, (size, packed_width(N)), np.uint8) for _ in strata]
        diffs.append([
            _scipy_difference(p, np.unpackbits(b, axis=1, count=N).astype(bool))
            for p, b in zip(strata, block, strict=True)
        ])
        done += size
    resampled = np.concatenate(diffs, axis=1)  # strata x resamples
    observed = np.array([_scipy_difference(p, np.zeros((1, N), bool))[0] for p in strata])

    def p_value(t_star: np.ndarray, t: float) -> float:
        return (1 + np.sum(np.abs(t_star) >= abs(t) * (1 - 1e-12) - 1e-14)) / (1 + n_resamples)

    assert result.p == p_value(resampled.mean(axis=0), observed.mean())
    assert result.stratum_ps == [p_value(r, t) for r, t in zip(resampled, observed, strict=True)]
    assert result.diff == pytest.approx(observed.mean(), abs=1e-12)
