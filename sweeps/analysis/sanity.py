"""Sanity contracts: what must hold for a study's numbers to mean anything.

A study declares its contract in its preset under ``analysis.sanity`` (a list of checks); the
report evaluates it on every sweep, prints each violation at the top of the verdicts and tags the
parent run. The checks are generic (the orchestration knows no method); each names metrics by name
or fnmatch pattern and designs by ``key=value`` parts they must contain:

- ``upper_bound``: the ``design`` matched has a seed-mean at least that of every other design
  (``tolerance`` allows slack), e.g. joint training over continual methods;
- ``above`` / ``below``: every design's seed-mean is above / below ``than``, a number (chance) or a
  metric of the same design (``{metric}`` in it stands for the checked metric's name), e.g. a
  trained model above its untrained self;
- ``holds``: a 0/1 property the task logs is 1 in every finished run, e.g. disjoint evaluation sets;
- ``ordered``: design ``better`` has a better seed-mean than design ``worse``, e.g. a split on which
  fine-tuning must hurt OOD for the method under test to be testable.

Directions follow the analysis settings (``analysis.minimize``, ``sweep.mode``). A check whose
metric or designs are missing from a sweep is skipped, never passed. Entries are plain data read
from a config (also one read back from MLflow), so they are validated here, never instantiated.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatch
from typing import Any

import pandas as pd

from sweeps.analysis.designs import matches
from sweeps.analysis.metrics import higher_is_better

OK, VIOLATED, SKIPPED = "ok", "violated", "skipped"
REQUIRED = {
    "upper_bound": ("metric", "design"),
    "above": ("metric", "than"),
    "below": ("metric", "than"),
    "holds": ("metric",),
    "ordered": ("metric", "better", "worse"),
}
OPTIONAL = {"why", "tolerance", "designs"}


@dataclass
class SanityResult:
    """The outcome of one check on one metric."""

    kind: str
    metric: str
    status: str  # ok | violated | skipped
    detail: str
    why: str = ""

    def line(self) -> str:
        why = f" — {self.why}" if self.why and self.status == VIOLATED else ""
        return f"[{self.status}] {self.kind} {self.metric}: {self.detail}{why}"


def validate_contract(entries: Any) -> list[dict]:
    """The ``analysis.sanity`` list as plain dicts; ValueError naming the first malformed entry."""
    if entries is None:
        return []
    if isinstance(entries, Mapping | str | bytes):
        raise ValueError("analysis.sanity must be a list of checks")
    checked = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise ValueError(f"analysis.sanity[{i}] must be a mapping, got {entry!r}")
        kind = entry.get("kind")
        if kind not in REQUIRED:
            raise ValueError(
                f"analysis.sanity[{i}].kind must be one of {', '.join(REQUIRED)}, got {kind!r}"
            )
        missing = [k for k in REQUIRED[kind] if entry.get(k) is None]
        unknown = set(entry) - set(REQUIRED[kind]) - OPTIONAL - {"kind"}
        if missing or unknown:
            what = f"missing {missing}" if missing else f"unknown keys {sorted(unknown)}"
            raise ValueError(f"analysis.sanity[{i}] ({kind}): {what}")
        checked.append(dict(entry))
    return checked


def check_contract(entries: Any, runs: pd.DataFrame, settings: Any = None) -> list[SanityResult]:
    """Evaluate every check on the finished runs (one row per run: design, metrics as columns)."""
    from sweeps.analysis.settings import AnalysisSettings

    settings = settings or AnalysisSettings()
    finished = runs[runs["status"] == "FINISHED"] if "status" in runs else runs
    results = []
    for entry in validate_contract(entries):
        metrics = [c for c in finished.columns if fnmatch(c, str(entry["metric"]))]
        metrics = [m for m in metrics if finished[m].notna().any()]
        if not metrics:
            results.append(_skipped(entry, str(entry["metric"]), "no finished run reports it"))
            continue
        for metric in metrics:
            results.append(CHECKS[entry["kind"]](entry, finished, metric, settings))
    return results


def _means(finished: pd.DataFrame, metric: str, designs: Any = None) -> pd.Series:
    """Seed-mean per design (designs without a value dropped; optionally only matching designs)."""
    means = finished.groupby("design")[metric].mean().dropna()
    if designs:
        wanted = [designs] if isinstance(designs, str) else list(designs)
        means = means[[any(matches(d, w) for w in wanted) for d in means.index]]
    return means


def _sign(metric: str, settings: Any) -> float:
    return 1.0 if higher_is_better(metric, settings) else -1.0


def _upper_bound(entry: dict, finished: pd.DataFrame, metric: str, settings: Any) -> SanityResult:
    means = _means(finished, metric) * _sign(metric, settings)
    bound = [d for d in means.index if matches(d, str(entry["design"]))]
    others = [d for d in means.index if d not in bound]
    if not bound or not others:
        return _skipped(entry, metric, f"needs {entry['design']!r} and at least one other design")
    tolerance = float(entry.get("tolerance") or 0.0)
    top = max(bound, key=lambda d: means[d])
    above = [d for d in others if means[d] > means[top] + tolerance]
    sign = _sign(metric, settings)
    if above:
        shown = ", ".join(f"{d} {sign * means[d]:.4g}" for d in above)
        return _result(entry, metric, VIOLATED, f"{top} ({sign * means[top]:.4g}) is below {shown}")
    return _result(entry, metric, OK, f"{top} ({sign * means[top]:.4g}) bounds {len(others)} designs")


def _compare_to(direction: float):
    def check(entry: dict, finished: pd.DataFrame, metric: str, settings: Any) -> SanityResult:
        means = _means(finished, metric, entry.get("designs"))
        than = entry["than"]
        if isinstance(than, int | float) and not isinstance(than, bool):
            reference = pd.Series(float(than), index=means.index)
            label = f"{float(than):.4g}"
        else:
            name = str(than).format(metric=metric)
            if name not in finished.columns:
                return _skipped(entry, metric, f"no finished run reports {name}")
            reference = _means(finished, name).reindex(means.index)
            label = name
        failing = [
            d
            for d in means.index
            if not math.isfinite(reference[d]) or direction * (means[d] - reference[d]) <= 0
        ]
        word = "above" if direction > 0 else "below"
        if means.empty:
            return _skipped(entry, metric, "no design to check")
        if failing:
            shown = ", ".join(f"{d} {means[d]:.4g} vs {reference[d]:.4g}" for d in failing)
            return _result(entry, metric, VIOLATED, f"not {word} {label}: {shown}")
        return _result(entry, metric, OK, f"all {len(means)} designs {word} {label}")

    return check


def _holds(entry: dict, finished: pd.DataFrame, metric: str, settings: Any) -> SanityResult:
    values = finished[metric]
    failing = finished.loc[values.isna() | (values != 1.0), "design"].tolist()
    if failing:
        return _result(entry, metric, VIOLATED, f"fails in {len(failing)} runs ({failing[0]}, …)")
    return _result(entry, metric, OK, f"holds in all {len(values)} finished runs")


def _ordered(entry: dict, finished: pd.DataFrame, metric: str, settings: Any) -> SanityResult:
    means = _means(finished, metric) * _sign(metric, settings)
    better = [d for d in means.index if matches(d, str(entry["better"]))]
    worse = [d for d in means.index if matches(d, str(entry["worse"]))]
    if not better or not worse:
        return _skipped(entry, metric, f"needs {entry['better']!r} and {entry['worse']!r}")
    b, w = max(better, key=lambda d: means[d]), max(worse, key=lambda d: means[d])
    sign = _sign(metric, settings)
    shown = f"{b} {sign * means[b]:.4g} vs {w} {sign * means[w]:.4g}"
    return _result(entry, metric, OK if means[b] > means[w] else VIOLATED, shown)


def _result(entry: dict, metric: str, status: str, detail: str) -> SanityResult:
    return SanityResult(entry["kind"], metric, status, detail, str(entry.get("why") or ""))


def _skipped(entry: dict, metric: str, reason: str) -> SanityResult:
    return _result(entry, metric, SKIPPED, reason)


CHECKS = {
    "upper_bound": _upper_bound,
    "above": _compare_to(+1.0),
    "below": _compare_to(-1.0),
    "holds": _holds,
    "ordered": _ordered,
}


def violations(results: list[SanityResult]) -> list[SanityResult]:
    return [r for r in results if r.status == VIOLATED]
