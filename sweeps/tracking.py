"""MLflow tracking, written from the driver only: a parent run per sweep, a child run per trial.

Trials never call MLflow (Ray's ``setup_mlflow`` races on experiment creation when trials start
together and leaves runs RUNNING). This Tune callback is the single writer; its trial writes go
through ``sweeps.write_queue`` (one writer thread), so Tune's event loop never waits on MLflow. Ray ships an
``MLflowLoggerCallback``, but it has no parent run, no KILLED status for scheduler-stopped trials
and makes duplicate runs when a sweep is restored; this one looks a trial's child run up by its Ray
trial id, so a resumed sweep reuses its runs.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunStatus, RunTag
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME
from omegaconf import DictConfig, OmegaConf
from ray.tune import Callback
from ray.tune.experiment import Trial
from ray.tune.result import AUTO_RESULT_KEYS

from modules.contract.keys import DESIGN_TAG, FINAL_KEY, SEED_TAG, SWEEP_TAG, TRIAL_ID_TAG
from sweeps.artifact_links import log_artifacts_linked
from sweeps.config import trial_config
from sweeps.redact import (
    DEFAULT_WORDS,
    MASK,
    is_secret,
    redact_command,
    redact_config,
    redact_overrides,
)
from sweeps.schedule import (
    MUTATIONS_TAG,
    SCHEDULE_FILE,
    SCHEDULE_TAG,
    add_step,
    schedule_frame,
    schedule_text,
)
from sweeps.space import SEED_KEY, design_of
from sweeps.sqlite_store import seed_sqlite_store
from sweeps.write_queue import TrackingUnavailable, WriteQueue, queue_for

SAMPLED_TAG = "sweep.sampled"  # a child's sampled values (seed included) as JSON: what rebuilds it
SPACE_TAG = "sweep.space"  # the parent's search space as run (JSON {key: sweep expression}), command line included
SWEEP_RUN_TAG = "sweep.run"  # a child's parent run id, so "group by design" stays in one sweep
# MLflow 3 opens an experiment in its GenAI view unless this tag says it holds model training runs
# (the value the MLflow UI's experiment-kind selector writes).
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}
# how a trial ended, one tag the run list can show as a column (MLflow's status alone cannot tell a
# scheduler-stopped trial from one cut off by an interrupted sweep: both are KILLED)
OUTCOME_TAG = "sweep.outcome"
OUTCOME_STATUS = {"finished": "FINISHED", "stopped": "KILLED", "failed": "FAILED", "interrupted": "KILLED"}
NOTE_TAG = "mlflow.note.content"  # the run page renders it as the run's description (Markdown)
MAX_PARAM_VALUE = 6000  # MLflow's limit on a param value
PARAM_BATCH = 100  # MLflow's limit on params per log_batch
_CLOSE_WAIT_S = 10.0
OVERRIDES_FILE = "overrides.json"  # the parent's plain overrides (redacted), to rebuild a trial
_SCHEDULES = threading.Lock()  # the writer thread adds to the schedules while Tune saves them
NOT_METRICS = {*AUTO_RESULT_KEYS, "done", "trial_id", "experiment_tag", "should_checkpoint", FINAL_KEY}


class MLflowTracking(Callback):
    """The driver's MLflow writer (a Ray Tune callback); ``start_sweep`` opens the parent run."""

    def __init__(self, uri: str, artifact_root: str | None = None, redact: list[str] | None = None,
                 retry_for_s: float = 600.0) -> None:
        self.uri = uri
        self.retry_for_s = float(retry_for_s)  # how long the end of a sweep waits for a server outage
        self.artifact_root = artifact_root
        self.redact = tuple(DEFAULT_WORDS if redact is None else redact)  # secret key words, masked in logs
        self.experiment_id: str | None = None
        self.parent_run_id: str | None = None
        self.base_overrides: list[str] | None = None  # the sweep's plain overrides, set by the runner
        self.trial_artifacts: str | None = None  # <state>/artifacts, where trials write files
        self.record_schedule = False  # PBT: record each trial's config schedule (sweeps/schedule.py)
        self._schedules: dict[str, list[dict[str, Any]]] = {}
        self._runs: dict[str, str] = {}
        self._last_step: dict[str, int] = {}
        self._logged_before: dict[str, int] = {}  # a reused child run's last step, per trial
        self._closed: set[str] = set()  # trials whose end this driver saw
        self._client: MlflowClient | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.update(_client=None, _runs={}, _last_step={}, _logged_before={}, _closed=set())
        if self.base_overrides is not None:  # Tune pickles its callbacks into tuner.pkl
            state["base_overrides"] = redact_overrides(self.base_overrides, self.redact)
        return state

    def get_state(self) -> dict[str, Any] | None:
        """Saved with the sweep's Ray state, so a resumed PBT sweep keeps its schedules. Tune calls
        it before its saved state becomes the one a resume reads: the queued writes go first, so a
        killed driver's resume never finds a result in Tune's state that MLflow lacks (it waits for
        the writes in flight only; during an outage they wait in memory, as they must)."""
        if not self.queue.outage:
            self.queue.flush(_CLOSE_WAIT_S)
        with _SCHEDULES:
            return {"schedules": {k: list(v) for k, v in self._schedules.items()}} if self._schedules else None

    def set_state(self, state: dict[str, Any]) -> None:
        self._schedules = dict(state.get("schedules", {}))

    @property
    def client(self) -> MlflowClient:
        if self._client is None:
            seed_sqlite_store(self.uri)  # a new local store: a copy, not MLflow's migrations
            self._client = MlflowClient(tracking_uri=self.uri)
        return self._client

    # -- the sweep's parent run ------------------------------------------------------------------
    def start_sweep(
        self, experiment: str, tags: dict[str, str], parent_run_id: str | None = None, title: str | None = None
    ) -> str:
        """Create (or, on resume, reopen) the sweep's parent run; returns its id. ``title`` names
        it after what it compares (default: the experiment and the time)."""
        self.experiment_id = self._experiment_id(experiment)
        if parent_run_id:
            self.client.update_run(parent_run_id, status=RunStatus.to_string(RunStatus.RUNNING))
            self.parent_run_id = parent_run_id
        else:
            name = title or f"{experiment} · {time.strftime('%m-%d %H:%M')}"
            run = self.client.create_run(self.experiment_id, run_name=name, tags={**tags, SWEEP_TAG: experiment})
            self.parent_run_id = run.info.run_id
        self.queue.reset_counts()
        return self.parent_run_id

    def log_parent_summary(
        self, metrics: dict[str, float] | None = None, params: dict[str, str] | None = None, note: str | None = None
    ) -> None:
        """The parent run's own metrics (the answer), params (what the sweep held fixed) and note."""
        now = int(time.time() * 1000)
        if metrics:
            self.client.log_batch(self.parent_run_id, metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items()])
        if params:
            self._log_params(self.parent_run_id, params)
        if note is not None:
            self.client.set_tag(self.parent_run_id, NOTE_TAG, note)

    def _log_params(self, run_id: str, params: dict[str, str]) -> None:
        items = [Param(k[:250], str(v)[:MAX_PARAM_VALUE]) for k, v in sorted(params.items())]
        for start in range(0, len(items), PARAM_BATCH):
            self.client.log_batch(run_id, params=items[start : start + PARAM_BATCH])

    def end_sweep(self, status: str) -> None:
        """Close the parent run with ``FINISHED``, ``FAILED`` or ``KILLED``; trials still marked
        RUNNING (an interrupted sweep) become KILLED until a resume reopens them."""
        if not self.parent_run_id:
            return
        self.queue.close(_CLOSE_WAIT_S)  # the trials' queued writes first (a short wait: it may be down)
        unrecorded = self.queue.unrecorded()
        if unrecorded and self.queue.full is None:  # a full store is its own one-line error
            print(f"warning: {unrecorded}", file=sys.stderr, flush=True)
        running = self.client.search_runs(
            [self.experiment_id],
            filter_string=f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{self.parent_run_id}' and attributes.status = 'RUNNING'",
        )
        for run in running:
            self.close_child(run.info.run_id, "interrupted")
        self.client.set_terminated(self.parent_run_id, status=status)

    def close_child(self, run_id: str, outcome: str) -> None:
        """End a child run: its ``sweep.outcome`` tag (finished, stopped by the scheduler, failed,
        or interrupted with the sweep) and the matching MLflow status (stopped → KILLED)."""
        self.client.set_tag(run_id, OUTCOME_TAG, outcome)
        self.client.set_terminated(run_id, status=OUTCOME_STATUS[outcome])

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
            for key, value in EXPERIMENT_KIND.items():
                if experiment.tags.get(key) != value:
                    self.client.set_experiment_tag(experiment.experiment_id, key, value)
            return experiment.experiment_id
        location = Path(self.artifact_root).resolve().as_uri() if self.artifact_root else None
        return self.client.create_experiment(name, artifact_location=location, tags=EXPERIMENT_KIND)

    # -- one child run per trial -----------------------------------------------------------------
    def on_trial_start(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        seen = _TrialSeen.of(trial)

        def write() -> None:
            run_id = self._child_run(seen)
            self.client.set_tag(run_id, OUTCOME_TAG, "running")
            self.client.update_run(run_id, status=RunStatus.to_string(RunStatus.RUNNING))

        self.queue.submit(write)

    def on_trial_result(self, iteration: int, trials: list[Trial], trial: Trial, result: dict, **info: Any) -> None:
        now = int(time.time() * 1000)  # taken now: a queued write retried later stays the same write
        values = {key: float(value) for key, value in result.items()
                  if key not in NOT_METRICS and isinstance(value, int | float) and not isinstance(value, bool)}
        if not values:
            return
        seen = _TrialSeen.of(trial)
        reported = {key: result[key] for key in ("epoch", "training_iteration") if key in result}
        # the config this result was trained with (PBT may already have given the trial its next
        # one: the scheduler sees a result before callbacks do)
        ran_with = dict(result.get("config") or trial.config) if self.record_schedule else None

        def write() -> None:
            run_id = self._child_run(seen)  # first: on a resumed sweep it reads the steps logged before
            step = self._step(seen.trial_id, reported)
            if step is not None:
                self.client.log_batch(run_id, metrics=[Metric(k, v, now, step) for k, v in values.items()])
                if ran_with is not None:
                    with _SCHEDULES:
                        add_step(self._schedules.setdefault(seen.trial_id, []), ran_with, step)

        self.queue.submit(write)

    def _step(self, trial_id: str, result: dict) -> int | None:
        """The MLflow step: the epoch (1-based) when the report names it (Ray Train reports do, and
        a retried multi-worker trial restarts Tune's iteration count), else Tune's iteration;
        never below the trial's last step, so a retry cannot log a step twice. ``None`` for a
        result this run logged before the driver was killed: Tune's saved state can be a result
        behind MLflow, and the resumed trial reports that result again."""
        last = self._last_step.get(trial_id, 0)
        logged = self._logged_before.get(trial_id, 0)
        if "epoch" in result:
            step = int(result["epoch"]) + 1
        else:
            iteration = int(result.get("training_iteration", 0))
            step = iteration if 0 < iteration <= logged else max(iteration, last + 1)
        if step <= logged:
            return None
        self._last_step[trial_id] = max(last, step)
        return step

    def on_trial_complete(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        seen = _TrialSeen.of(trial)
        finished = FINAL_KEY in (trial.last_result or {})
        self._closed.add(seen.trial_id)
        self.queue.submit(lambda: self._complete(seen, self._child_run(seen), finished))

    def _complete(self, seen: _TrialSeen, run_id: str, finished: bool) -> None:
        self._log_trial_artifacts(seen, run_id)
        self._log_schedule(seen, run_id)
        if not finished:
            self.client.set_tag(run_id, "stopped_by", "scheduler")
        self.close_child(run_id, "finished" if finished else "stopped")

    def on_experiment_end(self, trials: list[Trial], **info: Any) -> None:
        """Close the child run of every trial that Tune's saved state holds as finished but that a
        killed driver never closed: Tune can save a trial's completion before MLflow takes the
        write, and a resumed sweep does not run a finished trial again."""
        for trial in trials:
            if (trial.status == Trial.TERMINATED and FINAL_KEY in (trial.last_result or {})
                    and trial.trial_id not in self._closed):
                seen = _TrialSeen.of(trial)
                self.queue.submit(lambda seen=seen: self._complete_if_open(seen))

    def _complete_if_open(self, seen: _TrialSeen) -> None:
        run_id = self._child_run(seen)
        if self.client.get_run(run_id).info.status == RunStatus.to_string(RunStatus.RUNNING):
            self._complete(seen, run_id, finished=True)

    def on_trial_error(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        seen = _TrialSeen.of(trial)
        error = _error_text(trial)
        self._closed.add(seen.trial_id)

        def write() -> None:
            run_id = self._child_run(seen)
            self.client.set_tag(run_id, "error", error[-4900:])
            self.client.log_text(run_id, error, "error.txt")
            self._log_trial_artifacts(seen, run_id)
            self._log_schedule(seen, run_id)
            self.close_child(run_id, "failed")

        self.queue.submit(write)

    def _log_schedule(self, trial: _TrialSeen, run_id: str) -> None:
        """The trial's config schedule as ``config_schedule.csv`` and two tags (PBT only)."""
        rows = self._schedules.get(trial.trial_id)
        if not self.record_schedule or not rows:
            return
        self.client.log_text(run_id, schedule_frame(rows).to_csv(index=False), SCHEDULE_FILE)
        self.client.set_tag(run_id, SCHEDULE_TAG, schedule_text(rows))
        self.client.set_tag(run_id, MUTATIONS_TAG, str(len(rows) - 1))

    @property
    def queue(self) -> WriteQueue:
        return queue_for(self.uri)

    def flush(self, timeout: float | None = None) -> None:
        """Wait for the trials' queued writes; raises ``StoreFull`` when the store's disk filled up,
        ``TrackingUnavailable`` when the server stays unreachable for ``retry_for_s`` (or
        ``timeout``) seconds."""
        limit = self.retry_for_s if timeout is None else timeout
        left = self.queue.flush(limit)
        if self.queue.full is not None:
            raise self.queue.full
        if left:
            raise TrackingUnavailable(f"MLflow server {self.uri} unreachable for {limit:.0f} s; "
                                      f"{left} writes of this sweep are not recorded")

    def _child_run(self, trial: _TrialSeen) -> str:
        if trial.trial_id in self._runs:
            return self._runs[trial.trial_id]
        found = self.client.search_runs(
            [self.experiment_id],
            filter_string=f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{self.parent_run_id}' "
            f"and tags.`{TRIAL_ID_TAG}` = '{trial.trial_id}'",
            max_results=1,
        )
        run_id = found[0].info.run_id if found else self._create_child_run(trial)
        if found:  # a resumed sweep: its results up to this step are in MLflow already
            self._logged_before[trial.trial_id] = max(
                (m.step for key in found[0].data.metrics for m in self.client.get_metric_history(run_id, key)),
                default=0)
        self._runs[trial.trial_id] = run_id
        return run_id

    def _create_child_run(self, trial: _TrialSeen) -> str:
        sampled = dict(trial.config)
        design = design_of(sampled)
        seed = str(sampled.get(SEED_KEY, ""))
        name = run_name(sampled)
        run = self.client.create_run(
            self.experiment_id,
            run_name=name,
            tags={MLFLOW_PARENT_RUN_ID: self.parent_run_id, TRIAL_ID_TAG: trial.trial_id,
                  SWEEP_RUN_TAG: self.parent_run_id, DESIGN_TAG: design, SEED_TAG: seed, MLFLOW_RUN_NAME: name,
                  SAMPLED_TAG: json.dumps({k: str(v) for k, v in sorted(sampled.items())})},
        )
        run_id = run.info.run_id
        self.client.log_batch(run_id, tags=[RunTag("trial_name", trial.name)])
        params = {key: MASK if is_secret(key, self.redact) else str(value)
                  for key, value in sampled.items() if key != SEED_KEY}
        if self.base_overrides is not None:
            config = redact_config(trial_config(self.base_overrides, sampled), self.redact)
            self.client.log_text(run_id, OmegaConf.to_yaml(config), "config.yaml")
            params = {**flat_config(config, skip=(SEED_KEY,)), **params}
        self._log_params(run_id, params)
        return run_id

    def _log_trial_artifacts(self, trial: _TrialSeen, run_id: str) -> None:
        candidates = [Path(base) / "artifacts" for base in (trial.local_path, trial.path) if base]
        if self.trial_artifacts:
            candidates.insert(0, Path(self.trial_artifacts) / trial.trial_id)
        for folder in candidates:
            if folder.is_dir() and any(folder.iterdir()):
                log_artifacts_linked(self.client, run_id, folder)
                return


@dataclass(frozen=True)
class _TrialSeen:
    """What a write needs of a trial, taken when Tune reports it (a queued write runs later)."""

    trial_id: str
    name: str
    config: dict
    local_path: str | None
    path: str | None

    @classmethod
    def of(cls, trial: Trial) -> _TrialSeen:
        stored = trial.storage is not None  # a trial Tune runs has its storage; a stub may not
        return cls(trial.trial_id, str(trial), dict(trial.config),
                   trial.local_path if stored else None, trial.path if stored else None)


def run_name(sampled: dict[str, Any]) -> str:
    """A short child-run name that tells trials apart: the swept values (not their keys), the seed."""
    values = [str(v).rsplit("/", 1)[-1] for k, v in sorted(sampled.items()) if k != SEED_KEY]
    return " · ".join([*values, f"s{sampled.get(SEED_KEY, '')}"])


def flat_config(cfg: Any, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """A config flattened to ``{"optim.lr": "0.01"}`` (lists as text), for MLflow params."""
    container = OmegaConf.to_container(cfg, resolve=True) if OmegaConf.is_config(cfg) else cfg
    flat: dict[str, str] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict) and node:
            for key, value in node.items():
                walk(value, f"{prefix}{key}.")
        elif prefix[:-1] not in skip:
            flat[prefix[:-1]] = str(node)

    walk(container, "")
    return flat


def _error_text(trial: Trial) -> str:
    error_file = getattr(trial, "error_file", None)
    if error_file and Path(error_file).exists():
        return Path(error_file).read_text()
    return str(trial.get_error() or "the trial failed without an error message")
