"""Confidence intervals that stay inside a metric's range.

The interval across seeds is Student's t (``stats.aggregate``); for a metric with a declared range
(``analysis.bounds``: an accuracy in [0, 1], a Spearman correlation in [-1, 1]) its ends are clipped
to that range. Clipping, not a percentile bootstrap over seeds: with the 2–5 seeds a sweep has, a
bootstrap has at most a few dozen distinct resamples and its percentile interval is much narrower
than the sampling spread (it cannot reach beyond the observed minimum and maximum), while the
clipped t interval keeps the t interval's coverage and only drops values the metric cannot take.

The range is looked up by name in two declared lists of ``{metric: <name or fnmatch pattern>,
range: [low, high] or null}``: the study's ``analysis.bounds`` first, then
``analysis.default_bounds``; the first entry that matches wins and a ``null`` range means unbounded
(lists, not a mapping keyed by pattern: MLflow refuses ``*`` in the param names a config is logged
under). If a score lies outside its declared range (e.g. an accuracy logged in percent), the
declaration is wrong for this metric: the interval is left unclipped and a warning says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fnmatch import fnmatch

import numpy as np
import pandas as pd

Bounds = tuple[float, float]

METHOD = "95% t-interval across seeds, clipped to the metric's declared range (analysis.bounds)"

Entry = tuple[str, "Bounds | None"]


def check_bounds(entries: object, name: str = "analysis.bounds") -> list[Entry]:
    """A list of ``{metric, range}`` as (pattern, (low, high) or None); a ValueError names a bad entry."""
    if not isinstance(entries, list | tuple):
        raise ValueError(f"{name} must be a list of {{metric: pattern, range: [low, high]}}, got {entries!r}")
    checked: list[Entry] = []
    for i, entry in enumerate(entries):
        if not (isinstance(entry, Mapping) and set(entry) == {"metric", "range"}):
            raise ValueError(f"{name}[{i}]: expected {{metric: pattern, range: [low, high] or null}}, got {entry!r}")
        checked.append((str(entry["metric"]), _range(entry["range"], f"{name}[{i}]")))
    return checked


def _range(value: object, where: str) -> Bounds | None:
    if value is None:
        return None
    try:
        low, high = (float(v) for v in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise ValueError(f"{where}.range: expected [low, high] or null, got {value!r}") from None
    if not low < high:
        raise ValueError(f"{where}.range: needs low < high, got [{low}, {high}]")
    return (low, high)


def metric_bounds(metric: str, entries: list[Entry]) -> Bounds | None:
    """The declared range of ``metric``: the first entry whose name or pattern matches."""
    return next((bounds for pattern, bounds in entries if fnmatch(metric, pattern)), None)


def clip_interval(row: dict[str, float], values: np.ndarray, bounds: Bounds | None) -> str:
    """Clip ``row``'s ci_low/ci_high to ``bounds`` in place; returns how the range was applied:
    ``unbounded``, ``[low, high]``, or ``[low, high] ignored`` when a score lies outside it."""
    if bounds is None:
        return "unbounded"
    low, high = bounds
    shown = f"[{low:g}, {high:g}]"
    x = np.asarray(values, float)
    x = x[np.isfinite(x)]
    if len(x) and (x.min() < low or x.max() > high):
        return f"{shown} ignored"
    for key in ("ci_low", "ci_high"):
        if math.isfinite(row[key]):
            row[key] = min(max(row[key], low), high)
    return shown


def outside_warnings(aggregates: pd.DataFrame) -> list[str]:
    """One warning per metric whose scores fall outside its declared range."""
    if aggregates.empty or "range" not in aggregates:
        return []
    bad = aggregates[aggregates["range"].str.endswith("ignored")]
    return [
        f"{metric}: scores lie outside its declared range {rows['range'].iloc[0].split()[0]} "
        "(analysis.bounds); its intervals are not clipped"
        for metric, rows in bad.groupby("metric", sort=False)
    ]
