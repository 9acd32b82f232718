"""Verdicts: the best design, the designs not significantly worse, each design vs a baseline.

A comparison of X with Y reads one row of a pairs table (``design_a``, ``design_b``, an oriented
gain ``gain_a`` = how much better A is than B, and a decision column). With a p-value column X is
"better" / "worse" when the Holm-corrected p < alpha (the sign of the gain decides which), else
"no sig. diff"; with ASO, X is better when eps_min of "X dominates Y" < ``max_eps``. A missing or
NaN entry gives "n/a" (too few seeds, no per-example scores, ...).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

BETTER, WORSE, SAME, NA = "better", "worse", "no sig. diff", "n/a"


@dataclass
class Verdict:
    scope: str  # "metric" or "task type"
    task_type: str
    name: str  # the metric, or the task type's metrics joined
    test: str  # human-readable test description
    best: str | None
    score: dict[str, float]  # design → the oriented score used to rank (mean, or −mean rank)
    shown: dict[str, str]  # design → the number shown (mean ± CI, or mean rank)
    baseline: str | None
    not_worse: list[str] = field(default_factory=list)
    untestable: list[str] = field(default_factory=list)
    vs_baseline: dict[str, tuple[str, float, float]] = field(
        default_factory=dict
    )  # (outcome, gain, p)
    notes: list[str] = field(default_factory=list)


def compare(
    pairs: pd.DataFrame, x: str, y: str, decision: str, alpha: float, max_eps: float
) -> tuple[str, float, float]:
    """(outcome of x vs y, oriented gain of x over y, the p-value or eps used)."""
    if pairs.empty or "design_a" not in pairs:
        return NA, math.nan, math.nan
    row = pairs[(pairs["design_a"] == x) & (pairs["design_b"] == y)]
    flip = row.empty
    if flip:
        row = pairs[(pairs["design_a"] == y) & (pairs["design_b"] == x)]
    if row.empty:
        return NA, math.nan, math.nan
    r = row.iloc[0]
    gain = float(r["gain_a"]) * (-1 if flip else 1)
    value = float(r[decision]) if decision in r and pd.notna(r[decision]) else math.nan
    if math.isnan(value):
        return NA, gain, value
    if decision == "aso_eps":
        winner = r["design_a"] if r["aso_better"] == "a" else r["design_b"]
        if value < max_eps:
            return (BETTER if winner == x else WORSE), gain, value
        return SAME, gain, value
    if value < alpha and gain != 0:
        return (BETTER if gain > 0 else WORSE), gain, value
    return SAME, gain, value


def decide(
    verdict: Verdict,
    designs: list[str],
    pairs: pd.DataFrame,
    decision: str,
    alpha: float,
    max_eps: float,
    baseline_decision: str | None = None,
) -> Verdict:
    """Fill best / not_worse / untestable / vs_baseline of ``verdict`` from its scores and pairs.

    ``decision`` is the column for the comparisons with the best (Holm over all pairs: the best is
    chosen after seeing the data); ``baseline_decision`` the column for the comparisons with the
    baseline (Holm over the baseline's pairs alone, declared before the sweep); default: the same.
    """
    ranked = [d for d in designs if math.isfinite(verdict.score.get(d, math.nan))]
    if not ranked:
        verdict.notes.append("no finished run has a value for this metric")
        return verdict
    verdict.best = max(ranked, key=lambda d: (verdict.score[d], -designs.index(d)))
    if len(designs) < 2:
        verdict.notes.append("a single design: nothing to compare")
    for design in designs:
        if design == verdict.best:
            continue
        outcome = compare(pairs, design, verdict.best, decision, alpha, max_eps)[0]
        if outcome == SAME:
            verdict.not_worse.append(design)
        elif outcome == NA:
            verdict.untestable.append(design)
    if verdict.baseline is not None:
        for design in designs:
            if design != verdict.baseline:
                verdict.vs_baseline[design] = compare(
                    pairs, design, verdict.baseline, baseline_decision or decision, alpha, max_eps
                )
    return verdict
