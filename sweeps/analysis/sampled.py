"""What the report says about a sampled (random) search: which search it was, the best configurations
with their seed repeats, and which swept keys matter (:mod:`sweeps.analysis.importance`).

Under ``sweep.search=random`` (or with an ``interval`` axis) every sampled value is its own design,
so design-against-design tests have few or no repeats and many pairs: their verdicts are mostly
n/a. The question such a search answers is "which region of the space is good", hence a ranking
and a per-key test instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from sweeps.analysis.importance import design_values, key_importance
from sweeps.analysis.labels import short_value
from sweeps.errors import SweepConfigError
from sweeps.space import flatten_space

ONE_SEED_SHARE = 0.8  # "nearly every design has one seed": at least this share of the designs
MIN_DESIGNS = 3


@dataclass
class SampledSearch:
    """The report's section for a sampled search, on one metric."""

    metric: str
    line: str  # what the search did and what the report shows instead of pairwise verdicts
    top: pd.DataFrame  # the best configurations: one column per swept key, n, mean, CI, seed scores
    importance: pd.DataFrame  # one row per swept key (importance.IMPORTANCE_COLUMNS)


def sampled_reason(
    config: Mapping[str, Any], space: Mapping[str, str], seeds_per_design: pd.Series
) -> str | None:
    """Why this sweep is read as a sampled search, or None: ``sweep.search=random``, an interval
    axis in the search space as run (``space``; else the logged config's ``sweep.space``), or
    (nearly) every design with a single finished seed."""
    sweep = config.get("sweep") if isinstance(config.get("sweep"), Mapping) else {}
    space = space or _flat(sweep.get("space") or {})
    intervals = [k for k, v in space.items() if "interval(" in str(v)]
    if sweep.get("search") == "random":
        axes = f", interval axes: {', '.join(intervals)}" if intervals else ""
        return f"sampled search (sweep.search=random{axes})"
    if intervals:
        return f"sampled search (interval axes: {', '.join(intervals)})"
    designs = len(seeds_per_design)
    single = int((seeds_per_design <= 1).sum())
    if designs >= MIN_DESIGNS and single >= ONE_SEED_SHARE * designs:
        return f"{single} of {designs} designs have a single seed"
    return None


def summarize(
    reason: str,
    metric: str,
    scores: pd.DataFrame,
    aggregates: pd.DataFrame,
    higher: bool,
    top_k: int,
    per_example: bool = False,
) -> SampledSearch:
    """``scores``/``aggregates``: the analysis' long scores and aggregates, already on ``metric``;
    ``per_example``: whether the verdicts use per-example scores (they need no seed repeats)."""
    agg = aggregates.set_index("design")
    agg = agg[agg["mean"].map(math.isfinite)]
    order = agg["mean"].sort_values(ascending=not higher).index
    seeds = agg["n"]
    verdicts = (
        "The verdicts compare designs on their per-example scores (no seed repeats needed, but "
        "training-seed variance is not in them); in addition, here are"
        if per_example
        else "Design-against-design verdicts need seed repeats of one design and lose power with "
        "every extra design, so here are"
    )
    line = (
        f"{reason}: {len(agg)} designs, seeds per design: {_spread(seeds)}. {verdicts} the top "
        f"{min(top_k, len(agg))} configurations by {metric} and each swept key's association with "
        "it (Spearman for numeric keys, Kruskal-Wallis for categorical ones, over design means, "
        "Holm across keys)."
    )
    rows = []
    for rank, design in enumerate(order[:top_k], 1):
        row = agg.loc[design]
        values = scores.loc[scores["design"] == design].sort_values("seed")["value"]
        rows.append(
            {
                "rank": rank,
                **{k: short_value(v) for k, v in sorted(design_values(design).items())},
                "n_seeds": int(row["n"]),
                "mean": row["mean"],
                "ci_low": row["ci_low"],
                "ci_high": row["ci_high"],
                "seed_scores": ", ".join(f"{v:.4g}" for v in values),
            }
        )
    return SampledSearch(metric, line, pd.DataFrame(rows), key_importance(agg["mean"]))


def _spread(seeds: pd.Series) -> str:
    low, high = int(seeds.min()), int(seeds.max())
    return str(low) if low == high else f"{low}-{high}"


def _flat(space: Any) -> dict[str, str]:
    """The logged ``sweep.space`` flattened; a malformed one (it was checked before the sweep ran)
    counts as having no interval axis."""
    try:
        return flatten_space(space) if isinstance(space, Mapping) else {}
    except SweepConfigError:
        return {}
