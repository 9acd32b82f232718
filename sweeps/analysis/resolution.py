"""The resolution of a test family: the smallest Holm-adjusted p-value it can ever produce.

A test whose smallest attainable p exceeds alpha cannot reject, however large the difference:
a permutation test with B resamples never goes below ``1 / (B + 1)``, an exact Wilcoxon signed-rank
test over n pairs never below ``2 / 2**n``, and Holm multiplies the smallest raw p by the family
size m. The report states this per family and keeps such a test out of the verdict rule.
"""

from __future__ import annotations

import math

# The permutation count is chosen so that the smallest attainable Holm p is at most alpha / MARGIN:
# a difference far out in the tail is then declared significant with room to spare.
MARGIN = 10


def resamples_for(family_size: int, alpha: float, cap: int) -> int:
    """Resamples B such that ``family_size / (B + 1) <= alpha / MARGIN`` (at most ``cap``)."""
    needed = math.ceil(MARGIN * max(family_size, 1) / alpha) - 1
    return int(min(max(needed, 1), cap))


def smallest_p(test: str, n: int) -> float:
    """The smallest raw two-sided p of ``test`` with n resamples (permutation), pairs (Wilcoxon,
    t) or tasks (Wilcoxon over tasks); NaN when the test cannot run at all."""
    if test in ("per_example", "per_example_seed"):
        return 1.0 / (n + 1) if n > 0 else math.nan
    if test in ("wilcoxon", "wilcoxon_tasks"):
        return 2.0 / 2**n if n >= 1 else math.nan  # exact null: every sign pattern equally likely
    if test == "ttest":
        return 0.0 if n >= 2 else math.nan  # continuous: any p is attainable with n >= 2
    raise ValueError(f"no resolution rule for test {test!r}")


def smallest_holm_p(test: str, n: int, family_size: int) -> float:
    """Holm's smallest adjusted p: the family size times the smallest raw p (capped at 1)."""
    p = smallest_p(test, n)
    return p if math.isnan(p) else min(1.0, family_size * p)
