"""The resolution of test families: smallest attainable Holm p, and resamples for a family."""

from __future__ import annotations

import math

import pytest

from sweeps.analysis.resolution import resamples_for, smallest_holm_p


def test_resamples_for_eight_designs_reach_a_tenth_of_alpha():
    pairs = 8 * 7 // 2
    assert smallest_holm_p("per_example", 1000, pairs) > 0.005  # 28 / 1001: no margin at all
    needed = resamples_for(pairs, 0.05, cap=10**6)
    assert smallest_holm_p("per_example", needed, pairs) <= 0.005  # alpha / 10
    assert smallest_holm_p("per_example", needed - 1, pairs) > 0.005  # the least that does it


def test_wilcoxon_with_three_seeds_never_rejects_and_ttest_can():
    assert smallest_holm_p("wilcoxon", 3, 1) == pytest.approx(0.25)
    assert smallest_holm_p("wilcoxon", 6, 1) == pytest.approx(0.03125)
    assert smallest_holm_p("ttest", 3, 21) == 0.0
    assert math.isnan(smallest_holm_p("ttest", 1, 21))
    assert smallest_holm_p("wilcoxon_tasks", 3, 21) == 1.0


def test_resamples_are_capped():
    assert resamples_for(10_000, 0.05, cap=50_000) == 50_000
