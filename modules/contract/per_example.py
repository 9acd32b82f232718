"""Per-example scores on disk: the one writer and the one reader, and the statistic they carry.

Layout under a trial's artifact folder::

    per_example/index.json              {metric: {"file": "<name>.csv", "statistic": ...}}
    per_example/<metric with / as __>.csv

A CSV has ``example_id`` and either ``score`` (statistic "mean": the metric is the mean of
``score``) or ``prediction`` and ``target`` ("spearman", "v_measure": the metric is recomputed from
both). Paired tests resample ``example_id`` jointly and call :func:`statistic_value` on each
resample. The reader treats the index as data from a run: a ``file`` is read only from inside
``per_example/``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

STATISTICS = ("mean", "spearman", "v_measure")
FOLDER = "per_example"
INDEX = "index.json"


class Scored(Protocol):
    """What the writer needs of a result (``modules.evaluation.result.EvalResult`` is one)."""

    metric: str
    statistic: str
    per_example: pd.DataFrame


@dataclass
class PerExample:
    """One metric's per-example scores as read back: its statistic and its frame."""

    statistic: str  # one of STATISTICS
    frame: pd.DataFrame  # example_id + score, or example_id + prediction + target (+ any extra)


def file_name(metric: str) -> str:
    """CSV file name of ``metric``: "/" becomes "__"."""
    return metric.replace("/", "__") + ".csv"


def write_per_example(results: Iterable[Scored], folder: Path) -> None:
    """Write every result's per-example frame and the index to ``folder/per_example/``."""
    out = Path(folder) / FOLDER
    out.mkdir(parents=True, exist_ok=True)
    index: dict[str, dict[str, str]] = {}
    for result in results:
        name = file_name(result.metric)
        result.per_example.to_csv(out / name, index=False)
        index[result.metric] = {"file": name, "statistic": result.statistic}
    (out / INDEX).write_text(json.dumps(index, indent=2, sort_keys=True), encoding="utf-8")


def read_per_example(folder: Path) -> dict[str, PerExample]:
    """``{metric: PerExample}`` from ``folder/per_example/`` as written by :func:`write_per_example`;
    unusable entries are left out. ``ValueError`` if the index is unreadable or not a mapping."""
    base = Path(folder) / FOLDER
    try:
        index = json.loads((base / INDEX).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ValueError(f"{base / INDEX} cannot be read: {err}") from err
    if not isinstance(index, dict):
        raise ValueError(f"{base / INDEX} is not a mapping")
    found = {}
    for metric, entry in index.items():
        scores = read_entry(base, entry)
        if scores is not None:
            found[str(metric)] = scores
    return found


def read_entry(base: Path, entry: Any) -> PerExample | None:
    """One index entry read from the ``per_example/`` folder ``base``; None if unusable.

    A ``file`` that is absolute or leaves ``base`` (``..``, a symlink) is ignored with a note on
    stderr, never opened.
    """
    if not isinstance(entry, dict):
        return None
    statistic = str(entry.get("statistic", "mean"))
    name = str(entry.get("file", ""))
    if statistic not in STATISTICS or not name:
        return None
    path = base / name
    if Path(name).is_absolute() or not path.resolve().is_relative_to(base.resolve()):
        print(f"note: per-example file {name!r} is outside the run's artifacts; ignored", file=sys.stderr)
        return None
    if not path.is_file():
        return None
    frame = pd.read_csv(path)
    needed = ["score"] if statistic == "mean" else ["prediction", "target"]
    if "example_id" not in frame or any(c not in frame for c in needed):
        return None
    return PerExample(statistic, frame)


def statistic_value(statistic: str, frame: pd.DataFrame) -> float:
    """The metric recomputed from a per-example frame (possibly resampled with replacement):
    "mean" → mean of ``score``; "spearman" → Spearman's rho of ``prediction`` vs ``target``;
    "v_measure" → V-measure of ``target`` (labels) vs ``prediction`` (cluster ids)."""
    if statistic == "mean":
        return float(frame["score"].mean())
    if statistic == "spearman":
        from scipy.stats import spearmanr

        return float(spearmanr(frame["prediction"], frame["target"]).statistic)
    if statistic == "v_measure":
        from sklearn.metrics import v_measure_score

        return float(v_measure_score(frame["target"], frame["prediction"]))
    raise ValueError(f"unknown statistic {statistic!r}; expected one of {STATISTICS}")
