"""The paired permutation test: ours against scipy.stats.permutation_test, timed in one run.

    python bench/permutation_test.py

One design pair x 3 seeds of STS-B-sized Spearman scores (1,379 examples per seed), 1,000
resamples each way (scipy with the vectorized rank statistic the analysis used before), and ours
at the count `n_permutations: auto` gives 7 designs x 3 seeds; then the same with scores rounded
to 2 decimals (values repeat across examples, so the test counts ranks instead of its affine
shortcut), and with one duplicate pair (the flagship's case: a few tied values, corrected). Each
case runs scipy and ours interleaved, 3 repetitions; prints the load average first, then the
median seconds, and records the median ratio (noise on a shared machine: compare the ratio).
"""

from __future__ import annotations

import os
import time

import numpy as np
from scipy import stats

from bench.results import interleaved, median, record
from sweeps.analysis.per_example import PairedExamples
from sweeps.analysis.permutation import permutation_test
from sweeps.analysis.resolution import resamples_for

N, SEEDS, REPETITIONS = 1379, 3, 3
INPUTS = {"examples": N, "seeds": SEEDS, "resamples": 1000, "repetitions": REPETITIONS}


def scipy_test(pairs: list[PairedExamples], n_resamples: int) -> float:
    bounds = np.cumsum([0] + [len(p.a) for p in pairs])
    targets = [p.target for p in pairs]

    def spearman(x: np.ndarray, t: np.ndarray) -> np.ndarray:
        ranks = stats.rankdata(x, axis=-1)
        return stats.pearsonr(ranks, np.broadcast_to(stats.rankdata(t), ranks.shape), axis=-1).statistic

    def difference(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.mean(
            [
                spearman(x[..., lo:hi], targets[i]) - spearman(y[..., lo:hi], targets[i])
                for i, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True))
            ],
            axis=0,
        )

    x = np.concatenate([p.a for p in pairs])
    y = np.concatenate([p.b for p in pairs])
    result = stats.permutation_test(
        (x, y), difference, permutation_type="samples", vectorized=True,
        n_resamples=n_resamples, rng=np.random.default_rng(0),
    )
    return float(result.pvalue)


def main() -> None:
    print(f"load average at start: {os.getloadavg()}")
    rng = np.random.default_rng(0)
    pairs = []
    for _ in range(SEEDS):
        target = rng.normal(size=N)
        pairs.append(PairedExamples(target + rng.normal(size=N), target + 1.05 * rng.normal(size=N), target))
    # scores that repeat across examples (rounded, as stored scores often are): no affine shortcut
    tied = [PairedExamples(np.round(p.a, 2), np.round(p.b, 2), p.target) for p in pairs]
    # a duplicate pair, as STS-B's test split has: two examples scored identically by each side
    few = [PairedExamples(*(np.concatenate([x[1:2], x[1:]]) for x in (p.a, p.b, p.target))) for p in pairs]
    cases = {"paired permutation test, 1,000 resamples": pairs, "the same, tied scores": tied,
             "the same, one duplicate pair": few}
    for label, data in cases.items():
        runs = interleaved({"scipy": lambda d=data: timed(scipy_test, d, 1000),
                            "ours": lambda d=data: timed(lambda: permutation_test(d, "spearman", 1000, 0).p)},
                           REPETITIONS)
        ratios = [a[0] / b[0] for a, b in zip(runs["scipy"], runs["ours"], strict=True)]
        (_, p_scipy), (_, p_ours) = runs["scipy"][0], runs["ours"][0]
        print(f"{label}: scipy {median([t for t, _ in runs['scipy']]):.2f} s (p={p_scipy:.4f}), "
              f"ours {median([t for t, _ in runs['ours']]):.3f} s (p={p_ours:.4f})")
        record(f"{label}: scipy's time / ours", median(ratios), "x", "", INPUTS, ratios)
    auto = resamples_for(21 * SEEDS, 0.05, 100_000)
    auto_s, _ = timed(permutation_test, pairs, "spearman", auto, 0)
    print(f"ours, {auto} resamples (the per-seed family of 7 designs x 3 seeds): {auto_s:.3f} s")


def timed(fn, *args):
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result

if __name__ == "__main__":
    main()
