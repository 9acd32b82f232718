"""Read a sweep back from MLflow alone: parent run, child runs, final metrics, per-example scores.

Child runs are the runs tagged ``mlflow.parentRunId = <parent>``; a run's design and seed come from
its ``design`` and ``seed`` tags, its scores from its final (latest) metric values. Per-example
scores are optional artifacts ``per_example/index.json`` + CSVs (see
:mod:`modules.contract.per_example`).
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

from modules.contract.keys import DESIGN_TAG, SEED_TAG, SOUP_TAG, SWEEP_TAG
from modules.contract.per_example import PerExample, read_per_example
from sweeps.errors import SweepConfigError

SPACE_TAG = "sweep.space"  # sweeps.tracking.SPACE_TAG (analysis reads MLflow alone, without Ray)
INDEX_FILE = "per_example/index.json"
RUN_COLUMNS = ["run_id", "design", "seed", "status"]
PROGRESS_ENV = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"


class ReportError(SweepConfigError):
    """Unknown experiment or parent run: one clear line, exit code 2."""


@dataclass
class SweepData:
    """Everything the analysis needs, independent of Ray: one row per child run in ``runs``."""

    experiment: str
    parent_run_id: str
    runs: pd.DataFrame  # run_id, design, seed, status, then one column per final metric
    per_example: dict[tuple[str, str], PerExample] = field(default_factory=dict)  # (run_id, metric)
    config: dict[str, Any] = field(default_factory=dict)  # the parent's config.yaml, if logged
    space: dict[str, str] = field(default_factory=dict)  # the search space as run (parent's sweep.space tag)

    @property
    def metric_names(self) -> list[str]:
        return [c for c in self.runs.columns if c not in RUN_COLUMNS]


def find_parent(
    client: MlflowClient, experiment: str, parent_run_id: str | None = None
) -> tuple[str, str]:
    """(experiment id, parent run id): the given parent, else the most recent parent run."""
    found = client.get_experiment_by_name(experiment)
    if found is None:
        raise ReportError(f"unknown MLflow experiment {experiment!r}")
    if parent_run_id:
        try:
            run = client.get_run(parent_run_id)
        except MlflowException as exc:
            raise ReportError(
                f"unknown parent run {parent_run_id!r} in experiment {experiment!r}"
            ) from exc
        if run.info.experiment_id != found.experiment_id:
            raise ReportError(f"run {parent_run_id!r} is not in experiment {experiment!r}")
        return found.experiment_id, parent_run_id
    runs = client.search_runs(
        [found.experiment_id], order_by=["attributes.start_time DESC"], max_results=1000
    )
    parents = [r for r in runs if MLFLOW_PARENT_RUN_ID not in r.data.tags]
    tagged = [r for r in parents if r.data.tags.get(SWEEP_TAG) == experiment] or parents
    if not tagged:
        raise ReportError(f"experiment {experiment!r} has no parent (sweep) run")
    return found.experiment_id, tagged[0].info.run_id


def load_sweep(tracking_uri: str, experiment: str, parent_run_id: str | None = None) -> SweepData:
    """Read the sweep (parent run and its child runs) from an MLflow tracking store or server."""
    with _quiet_downloads():
        return _load(tracking_uri, experiment, parent_run_id)


@contextmanager
def _quiet_downloads() -> Iterator[None]:
    """No MLflow download progress bars in the sweep's terminal output."""
    before = os.environ.get(PROGRESS_ENV)
    os.environ[PROGRESS_ENV] = "false"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(PROGRESS_ENV, None)
        else:
            os.environ[PROGRESS_ENV] = before


def _load(tracking_uri: str, experiment: str, parent_run_id: str | None) -> SweepData:
    client = MlflowClient(tracking_uri=tracking_uri)
    experiment_id, parent = find_parent(client, experiment, parent_run_id)
    children = client.search_runs(
        [experiment_id],
        filter_string=f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{parent}'",
        max_results=50000,
    )
    rows: list[dict[str, Any]] = []
    per_example: dict[tuple[str, str], PerExample] = {}
    with tempfile.TemporaryDirectory(prefix="report-") as scratch:
        for run in children:
            tags = run.data.tags
            if SOUP_TAG in tags:
                continue  # a model soup (sweeps/soup/) is derived from the trials, not one of them
            rows.append(
                {
                    "run_id": run.info.run_id,
                    "design": tags.get(DESIGN_TAG) or run.info.run_name or run.info.run_id,
                    "seed": _seed(tags.get(SEED_TAG)),
                    "status": run.info.status,
                    **{k: float(v) for k, v in run.data.metrics.items()},
                }
            )
            if run.info.status == "FINISHED":
                folder = Path(scratch) / run.info.run_id
                for metric, scores in _per_example(client, run.info.run_id, folder).items():
                    per_example[(run.info.run_id, metric)] = scores
        config = _parent_config(client, parent, Path(scratch) / "parent")
    frame = pd.DataFrame(rows, columns=None if rows else RUN_COLUMNS)
    metric_columns = sorted(c for c in frame.columns if c not in RUN_COLUMNS)
    frame = frame[RUN_COLUMNS + metric_columns].sort_values(
        ["design", "seed", "run_id"], ignore_index=True
    )
    return SweepData(experiment, parent, frame, per_example, config, _space(client, parent))


def _space(client: MlflowClient, parent: str) -> dict[str, str]:
    """The parent's ``sweep.space`` tag (the runner's search space, command-line axes included);
    ``{}`` when absent or unreadable."""
    try:
        space = json.loads(client.get_run(parent).data.tags.get(SPACE_TAG, "{}"))
    except (MlflowException, ValueError):
        return {}
    return {str(k): str(v) for k, v in space.items()} if isinstance(space, dict) else {}


def _seed(value: str | None) -> float:
    try:
        return float(int(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def _per_example(client: MlflowClient, run_id: str, folder: Path) -> dict[str, PerExample]:
    try:
        if not any(a.path == INDEX_FILE for a in client.list_artifacts(run_id, "per_example")):
            return {}
        local = Path(client.download_artifacts(run_id, "per_example", str(folder)))
    except (MlflowException, OSError):
        return {}
    try:
        return read_per_example(local.parent)
    except ValueError:
        print(f"note: run {run_id[:8]}: {INDEX_FILE} is not a mapping; ignored", file=sys.stderr)
        return {}


def _parent_config(client: MlflowClient, run_id: str, folder: Path) -> dict[str, Any]:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = client.download_artifacts(run_id, "config.yaml", str(folder))
        loaded = yaml.safe_load(Path(path).read_text())
    except (MlflowException, OSError, yaml.YAMLError):
        return {}
    return loaded if isinstance(loaded, dict) else {}
