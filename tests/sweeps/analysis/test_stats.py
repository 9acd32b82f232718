"""The statistics on fixed data, checked against scipy / statsmodels / deepsig called directly."""

from __future__ import annotations

import math

import numpy as np
import pytest
from deepsig import aso
from scipy import stats
from statsmodels.stats.multitest import multipletests

from sweeps.analysis.settings import AsoSettings
from sweeps.analysis.stats import aggregate, holm, over_tasks, paired_tests, pairwise

A = np.array([0.81, 0.84, 0.79, 0.86, 0.83, 0.85, 0.80, 0.82])
B = np.array([0.78, 0.80, 0.78, 0.81, 0.80, 0.83, 0.79, 0.77])
NO_ASO = AsoSettings(enabled=False)


def test_aggregate_matches_scipy_t_interval():
    out = aggregate(A)
    low, high = stats.t.interval(0.95, len(A) - 1, loc=A.mean(), scale=stats.sem(A))
    assert out["n"] == 8
    assert out["mean"] == pytest.approx(A.mean())
    assert out["std"] == pytest.approx(A.std(ddof=1))
    assert (out["ci_low"], out["ci_high"]) == pytest.approx((low, high))


def test_aggregate_degenerate():
    assert aggregate(np.array([]))["n"] == 0
    one = aggregate(np.array([0.5, np.nan]))
    assert one["n"] == 1 and one["mean"] == 0.5 and math.isnan(one["ci_low"])
    same = aggregate(np.array([0.5, 0.5, 0.5]))
    assert same["std"] == 0 and same["ci_low"] == same["ci_high"] == 0.5


def test_paired_tests_match_scipy():
    out = paired_tests(A, B, NO_ASO)
    diff = A - B
    assert out["n_pairs"] == 8
    assert out["mean_diff"] == pytest.approx(diff.mean())
    assert out["cohens_dz"] == pytest.approx(diff.mean() / diff.std(ddof=1))
    assert out["p_wilcoxon"] == pytest.approx(stats.wilcoxon(A, B).pvalue)
    assert out["p_ttest"] == pytest.approx(stats.ttest_rel(A, B).pvalue)


def test_aso_matches_deepsig():
    settings = AsoSettings(enabled=True, n_bootstrap=100, seed=3)
    out = paired_tests(A, B, settings)
    expected = aso(list(A), list(B), num_bootstrap_iterations=100, seed=3, show_progress=False)
    assert out["aso_better"] == "a"
    assert out["aso_eps"] == pytest.approx(expected)
    # lower is better: the orientation flips, B is the better one and is passed first (negated)
    flipped = paired_tests(A, B, settings, higher_is_better=False)
    assert flipped["aso_better"] == "b"
    assert flipped["aso_eps"] == pytest.approx(
        aso(list(-B), list(-A), num_bootstrap_iterations=100, seed=3, show_progress=False)
    )


def test_real_difference_is_significant():
    rng = np.random.default_rng(0)
    base = rng.normal(0.80, 0.02, 10)
    better = base + 0.03 + rng.normal(0, 0.005, 10)
    out = paired_tests(better, base, AsoSettings(enabled=True, n_bootstrap=100))
    assert out["p_ttest"] < 0.01
    assert out["p_wilcoxon"] < 0.01
    assert out["aso_eps"] < 0.2 and out["aso_better"] == "a"


def test_no_difference_is_not_significant():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0.80, 0.02, 10), rng.normal(0.80, 0.02, 10)
    out = paired_tests(a, b, AsoSettings(enabled=True, n_bootstrap=100))
    assert out["p_ttest"] > 0.05
    assert out["p_wilcoxon"] > 0.05
    assert out["aso_eps"] > 0.2


def test_paired_tests_degenerate():
    one = paired_tests(np.array([0.9]), np.array([0.8]), AsoSettings(enabled=True, n_bootstrap=10))
    assert one["n_pairs"] == 1 and one["mean_diff"] == pytest.approx(0.1)
    assert (
        math.isnan(one["p_ttest"]) and math.isnan(one["p_wilcoxon"]) and math.isnan(one["aso_eps"])
    )
    same = paired_tests(A, A.copy(), NO_ASO)
    assert same["p_ttest"] == 1.0 and same["p_wilcoxon"] == 1.0 and same["cohens_dz"] == 0.0
    constant = paired_tests(A + 0.01, A, NO_ASO)  # constant difference: t undefined
    assert math.isnan(constant["p_ttest"]) and constant["cohens_dz"] == math.inf
    two = paired_tests(A[:2], B[:2], AsoSettings(enabled=True, n_bootstrap=10))  # ASO needs aso.min_seeds pairs
    assert math.isnan(two["aso_eps"]) and two["aso_better"] == ""
    nan = paired_tests(np.array([np.nan, 0.8, 0.9]), np.array([0.7, np.nan, 0.8]), NO_ASO)
    assert nan["n_pairs"] == 1
    empty = paired_tests(np.array([np.nan]), np.array([np.nan]), NO_ASO)
    assert empty["n_pairs"] == 0 and math.isnan(empty["mean_diff"])


def test_pairwise_all_pairs_seed_matched():
    import pandas as pd

    table = pd.DataFrame({"x": A, "y": B, "z": A[::-1]})
    out = pairwise(table, None, True)
    assert list(zip(out["design_a"], out["design_b"], strict=True)) == [
        ("x", "y"),
        ("x", "z"),
        ("y", "z"),
    ]
    assert out.loc[0, "p_ttest"] == pytest.approx(stats.ttest_rel(A, B).pvalue)


def test_holm_matches_statsmodels_and_keeps_nan():
    import pandas as pd

    p = pd.Series([0.01, 0.04, np.nan, 0.03])
    out = holm(p)
    expected = multipletests([0.01, 0.04, 0.03], method="holm")[1]
    assert out[[0, 1, 3]].to_numpy() == pytest.approx(expected)
    assert math.isnan(out[2])
    assert holm(pd.Series([], dtype=float)).empty


def test_over_tasks_matches_scipy_wilcoxon():
    import pandas as pd

    means = pd.DataFrame(
        {"x": [0.8, 0.7, 0.9, 0.6, 0.75, 0.85], "y": [0.7, 0.72, 0.8, 0.5, 0.7, 0.8]}
    )
    out = over_tasks(means)
    assert out.loc[0, "p_wilcoxon_tasks"] == pytest.approx(
        stats.wilcoxon(means["x"], means["y"]).pvalue
    )
    assert out.loc[0, "wins_a"] == 5 and out.loc[0, "n_tasks"] == 6


@pytest.mark.parametrize("seed", range(5))
def test_holm_adjust_matches_statsmodels(seed):
    from statsmodels.stats.multitest import multipletests

    from sweeps.analysis.stats import holm_adjust

    rng = np.random.default_rng(seed)
    p = rng.uniform(0, 0.2, size=17)
    p[3] = p[5]  # ties keep their order
    assert np.allclose(holm_adjust(p), multipletests(p, method="holm")[1])
