"""Reading a sweep back from its MLflow store, for the end-to-end tests."""

from __future__ import annotations

from pathlib import Path

from mlflow import MlflowClient
from mlflow.entities import Run
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID


def store_uri(output_dir: Path) -> str:
    return f"sqlite:///{output_dir}/mlflow.db"


def sweep_runs(output_dir: Path, experiment: str) -> tuple[list[Run], list[Run]]:
    """(parent runs, child runs) of an experiment in the local store under ``output_dir``."""
    client = MlflowClient(store_uri(output_dir))
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return [], []
    runs = client.search_runs([found.experiment_id], max_results=1000)
    parents = [r for r in runs if MLFLOW_PARENT_RUN_ID not in r.data.tags]
    children = [r for r in runs if MLFLOW_PARENT_RUN_ID in r.data.tags]
    return parents, children


def metric_steps(output_dir: Path, run_id: str, key: str) -> list[int]:
    history = MlflowClient(store_uri(output_dir)).get_metric_history(run_id, key)
    return sorted(m.step for m in history)
