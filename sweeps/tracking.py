"""MLflow tracking, written from the driver only: a parent run per sweep, a child run per trial.

Trials never call MLflow (Ray's ``setup_mlflow`` races on experiment creation when trials start
together and leaves runs RUNNING). This Tune callback is the single writer. Ray ships an
``MLflowLoggerCallback``, but it has no parent run, no KILLED status for scheduler-stopped trials
and makes duplicate runs when a sweep is restored; this one looks a trial's child run up by its Ray
trial id, so a resumed sweep reuses its runs.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunStatus, RunTag
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME
from omegaconf import DictConfig, OmegaConf
from ray.tune import Callback
from ray.tune.experiment import Trial
from ray.tune.result import AUTO_RESULT_KEYS

from sweeps.redact import (
    DEFAULT_WORDS,
    MASK,
    is_secret,
    redact_command,
    redact_config,
    redact_overrides,
)
from sweeps.space import SEED_KEY, design_of
from sweeps.trial import trial_config

TRIAL_ID_TAG = "ray.trial_id"
SWEEP_TAG = "sweep.name"
FINAL_KEY = "final"
OVERRIDES_FILE = "overrides.json"  # the parent's plain overrides (redacted), to rebuild a trial
_NOT_METRICS = {*AUTO_RESULT_KEYS, "done", "trial_id", "experiment_tag", "should_checkpoint", FINAL_KEY}


class MLflowTracking(Callback):
    """The driver's MLflow writer (a Ray Tune callback); ``start_sweep`` opens the parent run."""

    def __init__(self, uri: str, artifact_root: str | None = None, redact: list[str] | None = None) -> None:
        self.uri = uri
        self.artifact_root = artifact_root
        self.redact = tuple(DEFAULT_WORDS if redact is None else redact)  # secret key words, masked in logs
        self.experiment_id: str | None = None
        self.parent_run_id: str | None = None
        self.base_overrides: list[str] | None = None  # the sweep's plain overrides, set by the runner
        self.trial_artifacts: str | None = None  # <state>/artifacts, where trials write files
        self._runs: dict[str, str] = {}
        self._last_step: dict[str, int] = {}
        self._client: MlflowClient | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.update(_client=None, _runs={}, _last_step={})
        if self.base_overrides is not None:  # Tune pickles its callbacks into tuner.pkl
            state["base_overrides"] = redact_overrides(self.base_overrides, self.redact)
        return state

    @property
    def client(self) -> MlflowClient:
        if self._client is None:
            self._client = MlflowClient(tracking_uri=self.uri)
        return self._client

    # -- the sweep's parent run ------------------------------------------------------------------
    def start_sweep(self, experiment: str, tags: dict[str, str], parent_run_id: str | None = None) -> str:
        """Create (or, on resume, reopen) the sweep's parent run; returns its id."""
        self.experiment_id = self._experiment_id(experiment)
        if parent_run_id:
            self.client.update_run(parent_run_id, status=RunStatus.to_string(RunStatus.RUNNING))
            self.parent_run_id = parent_run_id
        else:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            run = self.client.create_run(
                self.experiment_id, run_name=f"{experiment} {stamp}", tags={**tags, SWEEP_TAG: experiment}
            )
            self.parent_run_id = run.info.run_id
        return self.parent_run_id

    def end_sweep(self, status: str) -> None:
        """Close the parent run with ``FINISHED``, ``FAILED`` or ``KILLED``; trials still marked
        RUNNING (an interrupted sweep) become KILLED until a resume reopens them."""
        if not self.parent_run_id:
            return
        running = self.client.search_runs(
            [self.experiment_id],
            filter_string=f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{self.parent_run_id}' and attributes.status = 'RUNNING'",
        )
        for run in running:
            self.client.set_terminated(run.info.run_id, status="KILLED")
        self.client.set_terminated(self.parent_run_id, status=status)

    def log_sweep_config(self, cfg: DictConfig, command: str, base_overrides: list[str]) -> None:
        """The parent's ``config.yaml``, ``command.txt`` and ``overrides.json``, secrets masked."""
        self.log_parent_text(OmegaConf.to_yaml(redact_config(cfg, self.redact)), "config.yaml")
        self.log_parent_text(redact_command(command, self.redact) + "\n", "command.txt")
        overrides = {"base_overrides": redact_overrides(base_overrides, self.redact)}
        self.log_parent_text(json.dumps(overrides, indent=1), OVERRIDES_FILE)

    def log_parent_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        self.client.log_artifact(self.parent_run_id, str(path), artifact_path)

    def log_parent_text(self, text: str, name: str) -> None:
        self.client.log_text(self.parent_run_id, text, name)

    def _experiment_id(self, name: str) -> str:
        experiment = self.client.get_experiment_by_name(name)
        if experiment is not None:
            return experiment.experiment_id
        location = Path(self.artifact_root).resolve().as_uri() if self.artifact_root else None
        return self.client.create_experiment(name, artifact_location=location)

    # -- one child run per trial -----------------------------------------------------------------
    def on_trial_start(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        run_id = self._child_run(trial)
        self.client.update_run(run_id, status=RunStatus.to_string(RunStatus.RUNNING))

    def on_trial_result(self, iteration: int, trials: list[Trial], trial: Trial, result: dict, **info: Any) -> None:
        step = self._step(trial.trial_id, result)
        now = int(time.time() * 1000)
        metrics = [
            Metric(key, float(value), now, step)
            for key, value in result.items()
            if key not in _NOT_METRICS and isinstance(value, int | float) and not isinstance(value, bool)
        ]
        if metrics:
            self.client.log_batch(self._child_run(trial), metrics=metrics)

    def _step(self, trial_id: str, result: dict) -> int:
        """The MLflow step: the epoch (1-based) when the report names it (Ray Train reports do, and
        a retried multi-worker trial restarts Tune's iteration count), else Tune's iteration;
        never below the trial's last step, so a retry cannot log a step twice."""
        last = self._last_step.get(trial_id, 0)
        if "epoch" in result:
            step = int(result["epoch"]) + 1
        else:
            step = max(int(result.get("training_iteration", 0)), last + 1)
        self._last_step[trial_id] = max(last, step)
        return step

    def on_trial_complete(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        run_id = self._child_run(trial)
        self._log_trial_artifacts(trial, run_id)
        finished = FINAL_KEY in (trial.last_result or {})
        self.client.set_terminated(run_id, status="FINISHED" if finished else "KILLED")
        if not finished:
            self.client.set_tag(run_id, "stopped_by", "scheduler")

    def on_trial_error(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        run_id = self._child_run(trial)
        error = _error_text(trial)
        self.client.set_tag(run_id, "error", error[-4900:])
        self.client.log_text(run_id, error, "error.txt")
        self._log_trial_artifacts(trial, run_id)
        self.client.set_terminated(run_id, status="FAILED")

    def _child_run(self, trial: Trial) -> str:
        if trial.trial_id in self._runs:
            return self._runs[trial.trial_id]
        found = self.client.search_runs(
            [self.experiment_id],
            filter_string=f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{self.parent_run_id}' "
            f"and tags.`{TRIAL_ID_TAG}` = '{trial.trial_id}'",
            max_results=1,
        )
        run_id = found[0].info.run_id if found else self._create_child_run(trial)
        self._runs[trial.trial_id] = run_id
        return run_id

    def _create_child_run(self, trial: Trial) -> str:
        sampled = dict(trial.config)
        design = design_of(sampled)
        seed = str(sampled.get(SEED_KEY, ""))
        run = self.client.create_run(
            self.experiment_id,
            run_name=f"{design} seed={seed}",
            tags={MLFLOW_PARENT_RUN_ID: self.parent_run_id, TRIAL_ID_TAG: trial.trial_id,
                  "design": design, "seed": seed, MLFLOW_RUN_NAME: f"{design} seed={seed}"},
        )
        run_id = run.info.run_id
        params = [Param(key, MASK if is_secret(key, self.redact) else str(value))
                  for key, value in sorted(sampled.items())]
        self.client.log_batch(run_id, params=params, tags=[RunTag("trial_name", str(trial))])
        if self.base_overrides is not None:
            config = OmegaConf.to_yaml(redact_config(trial_config(self.base_overrides, sampled), self.redact))
            self.client.log_text(run_id, config, "config.yaml")
        return run_id

    def _log_trial_artifacts(self, trial: Trial, run_id: str) -> None:
        candidates = [Path(base) / "artifacts" for base in (trial.local_path, trial.path) if base]
        if self.trial_artifacts:
            candidates.insert(0, Path(self.trial_artifacts) / trial.trial_id)
        for folder in candidates:
            if folder.is_dir() and any(folder.iterdir()):
                self.client.log_artifacts(run_id, str(folder))
                return


def _error_text(trial: Trial) -> str:
    error_file = getattr(trial, "error_file", None)
    if error_file and Path(error_file).exists():
        return Path(error_file).read_text()
    return str(trial.get_error() or "the trial failed without an error message")
