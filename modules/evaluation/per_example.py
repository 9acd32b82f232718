"""Per-example scores on disk, and the statistic that turns a (resampled) frame into a metric.

Layout under ``folder``::

    per_example/index.json              {metric: {"file": "<name>.csv", "statistic": ...}}
    per_example/<metric with / as __>.csv

Paired bootstrap / permutation tests read two trials' frames, resample ``example_id`` jointly and
call :func:`statistic_value` on each resample.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import v_measure_score

from modules.evaluation.result import STATISTICS, EvalResult

INDEX = "index.json"


def file_name(metric: str) -> str:
    """CSV file name of ``metric``: "/" becomes "__"."""
    return metric.replace("/", "__") + ".csv"


def write_per_example(results: Iterable[EvalResult], folder: Path) -> None:
    """Write every result's per-example frame and the index to ``folder/per_example/``."""
    out = Path(folder) / "per_example"
    out.mkdir(parents=True, exist_ok=True)
    index: dict[str, dict[str, str]] = {}
    for result in results:
        name = file_name(result.metric)
        result.per_example.to_csv(out / name, index=False)
        index[result.metric] = {"file": name, "statistic": result.statistic}
    (out / INDEX).write_text(json.dumps(index, indent=2, sort_keys=True), encoding="utf-8")


def read_per_example(folder: Path) -> dict[str, tuple[pd.DataFrame, str]]:
    """``{metric: (frame, statistic)}`` as written by :func:`write_per_example`."""
    base = Path(folder) / "per_example"
    index = json.loads((base / INDEX).read_text(encoding="utf-8"))
    return {
        metric: (pd.read_csv(base / entry["file"]), entry["statistic"])
        for metric, entry in index.items()
    }


def statistic_value(statistic: str, frame: pd.DataFrame) -> float:
    """The metric recomputed from a per-example frame (possibly resampled with replacement):
    "mean" → mean of ``score``; "spearman" → Spearman's rho of ``prediction`` vs ``target``;
    "v_measure" → V-measure of ``target`` (labels) vs ``prediction`` (cluster ids)."""
    if statistic == "mean":
        return float(frame["score"].mean())
    if statistic == "spearman":
        return float(spearmanr(frame["prediction"], frame["target"]).statistic)
    if statistic == "v_measure":
        return float(v_measure_score(frame["target"], frame["prediction"]))
    raise ValueError(f"unknown statistic {statistic!r}; expected one of {STATISTICS}")
