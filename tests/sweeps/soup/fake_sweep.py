"""A hand-made sweep in a temporary local MLflow store, logged like sweeps/tracking.py does, whose
trials saved tiny weights; and a scripted task that scores weights without any model."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import torch
from mlflow import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME

from modules.contract.weights import init_fingerprint, save_weights

TASK = "tests.sweeps.soup.fake_sweep.ScriptedTask"
CONF = Path(__file__).resolve().parent / "conf"  # the local config tree its trials are rebuilt from
CONF_ARGS = ["--config-dir", str(CONF)]


class ScriptedTask:
    """Scores weights ``{"w": v}`` with ``heldout/acc = 1 - |mean(v) - 0.5|`` and
    ``test/acc = 1 - |mean(v) - 0.4|`` (so a soup's score is known by hand)."""

    def evaluate_weights(self, cfg, state_dict, splits: Sequence[str] = ("heldout", "test")):
        center = float(state_dict["w"].mean())
        scores = {"heldout/acc": 1 - abs(center - 0.5), "test/acc": 1 - abs(center - 0.4)}
        return {k: v for k, v in scores.items() if k.split("/")[0] in splits}


def trial_weights(value: float, size: int = 3) -> dict[str, torch.Tensor]:
    return {"w": torch.full((size,), value), "count": torch.tensor(7)}


def make_sweep(root: Path, trials: dict[str, dict], experiment: str = "fake") -> tuple[str, str]:
    """(tracking URI, parent run id) of a new ``experiment`` in the store under ``root``.
    ``trials``: name → {"weights", "init"?}."""
    uri = f"sqlite:///{root}/mlflow.db"
    client = MlflowClient(uri)
    exp = client.create_experiment(experiment, artifact_location=(root / "art" / experiment).as_uri())
    parent = client.create_run(exp, tags={"sweep.name": experiment}).info.run_id
    client.log_text(parent, "sweep:\n  metric: heldout/acc\n  mode: max\n", "config.yaml")
    client.log_text(parent, json.dumps({"base_overrides": []}), "overrides.json")
    task = ScriptedTask()
    for name, spec in trials.items():
        run = client.create_run(exp, run_name=name, tags={
            MLFLOW_PARENT_RUN_ID: parent, MLFLOW_RUN_NAME: name, "design": name, "seed": "0",
            "sweep.sampled": json.dumps({"seed": "0"})}).info.run_id
        weights = spec["weights"]
        for key, value in task.evaluate_weights(None, weights).items():
            client.log_metric(run, key, value)
        folder = root / "files" / experiment / name
        init = spec.get("init") or init_fingerprint(trial_weights(0.0))
        save_weights(folder, weights, init)
        client.log_artifacts(run, str(folder))
        client.log_text(run, f"task:\n  _target_: {TASK}\n", "config.yaml")
        client.set_terminated(run, status="FINISHED")
    client.set_terminated(parent, status="FINISHED")
    return uri, parent
