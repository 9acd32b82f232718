"""Runs a planned sweep: Ray up, Tuner fit or restore, summary, Ray down. Exit code 0 / 1 / 130."""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import threading
from datetime import datetime, timezone
from pathlib import Path

from hydra.utils import instantiate
from ray import tune
from ray.tune import CheckpointConfig, FailureConfig, RunConfig, TuneConfig, Tuner
from ray.tune.search.basic_variant import BasicVariantGenerator

from sweeps import storage
from sweeps.analysis import report_sweep
from sweeps.distributed import is_distributed
from sweeps.plan import SweepPlan
from sweeps.provenance import git_state, package_versions
from sweeps.soup import cook_soups
from sweeps.summary import best_trial, design_summary, format_summary, trials_frame
from sweeps.tracking import MLflowTracking
from sweeps.trial import run_trial

STATE_FILE = "sweep_state.json"


def prepare_state(plan: SweepPlan) -> dict:
    """Check resume is possible, or move an older sweep of the same name aside (never deleted)."""
    folder = plan.state_path
    if plan.resuming:
        return read_state(folder)
    if storage.exists(folder):
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        storage.move(folder, f"{folder}.{stamp}")
    return {}


def run_sweep(plan: SweepPlan) -> int:
    """Run (or resume) the sweep; returns the process exit code."""
    cfg = plan.cfg
    previous = prepare_state(plan)
    tracking: MLflowTracking = instantiate(cfg.tracking)
    tracking.base_overrides = plan.base_overrides
    tracking.trial_artifacts = f"{plan.state_path}/artifacts"
    parent = tracking.start_sweep(cfg.sweep.name, {**git_state(), **package_versions()}, previous.get("parent_run_id"))
    storage.write_text(f"{plan.state_path}/{STATE_FILE}", json.dumps({"parent_run_id": parent, "tracking_uri": tracking.uri}))
    if not previous:
        tracking.log_sweep_config(cfg, plan.command, plan.base_overrides)
    print(plan.mlflow_hint(parent), flush=True)
    cluster = instantiate(cfg.cluster)
    # Ray warns on every forced state snapshot that num_to_keep=1 causes; the snapshots are wanted.
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    # A study's target metric may exist only in a trial's final report (its test-set evaluation).
    os.environ.setdefault("TUNE_DISABLE_STRICT_METRIC_CHECKING", "1")
    status, code = "FAILED", 1
    try:
        cluster.connect()
        results, interrupted = _fit(_tuner(plan, tracking))
        if interrupted or results.num_terminated + results.num_errors < max(len(results), plan.num_trials):
            raise KeyboardInterrupt  # Tune caught Ctrl-C itself and saved its state
        code = _report(plan, results, tracking)
        status = "FINISHED" if code == 0 else "FAILED"
    except KeyboardInterrupt:
        status, code = "KILLED", 130
        print(f"Interrupted: continue with  {plan.command} resume=true", file=sys.stderr)
    finally:
        cluster.shutdown()
        tracking.end_sweep(status)
        print(plan.mlflow_hint(parent), flush=True)
    return code


def _fit(tuner: Tuner) -> tuple[tune.ResultGrid, bool]:
    """``tuner.fit()``, and whether Ctrl-C stopped it. Tune catches SIGINT itself (stopping running
    trials, which it then marks terminated), saves its state, returns normally and puts back the
    handler it found; Ray 2.60 exposes no flag, so the handler left in place tells."""
    before = signal.getsignal(signal.SIGINT)
    tune_catches = (threading.current_thread() is threading.main_thread()
                    and os.environ.get("TUNE_DISABLE_SIGINT_HANDLER", "0") == "0")
    try:
        results = tuner.fit()
    finally:
        after = signal.getsignal(signal.SIGINT)
        signal.signal(signal.SIGINT, before)  # Tune's handler would swallow Ctrl-C in the report
    return results, tune_catches and after is before


def read_state(folder: str) -> dict:
    """The sweep's own state next to Ray's (the MLflow parent run id), if it was written."""
    path = f"{folder}/{STATE_FILE}"
    return json.loads(storage.read_text(path)) if storage.exists(path) else {}


def _tuner(plan: SweepPlan, tracking: MLflowTracking) -> Tuner:
    cfg = plan.cfg
    distributed = is_distributed(cfg)
    trainable = tune.with_resources(
        tune.with_parameters(run_trial, base_overrides=plan.base_overrides), trial_resources(cfg)
    )
    if plan.resuming:
        return Tuner.restore(plan.state_path, trainable=trainable)
    return Tuner(
        trainable,
        param_space=plan.param_space,
        tune_config=TuneConfig(
            metric=cfg.sweep.metric,
            mode=cfg.sweep.mode,
            scheduler=instantiate(cfg.scheduler),
            # max_concurrent here: Tune ignores TuneConfig.max_concurrent_trials with a generator
            search_alg=BasicVariantGenerator(constant_grid_search=True,
                                             max_concurrent=int(cfg.sweep.max_concurrent)),
            num_samples=int(cfg.sweep.num_samples),
            reuse_actors=bool(cfg.sweep.reuse_actors) and not distributed,
        ),
        run_config=RunConfig(
            name=cfg.sweep.name,
            storage_path=str(cfg.storage.path),
            failure_config=FailureConfig(max_failures=int(cfg.sweep.max_failures)),
            checkpoint_config=CheckpointConfig(num_to_keep=1),
            callbacks=[tracking],
            verbose=int(cfg.sweep.verbose),
        ),
    )


def trial_resources(cfg) -> dict[str, float]:
    """What one Tune trial reserves. A multi-worker trial only drives its Ray Train workers, which
    reserve ``resources.cpu``/``resources.gpu`` each, so the trial itself reserves (almost) nothing."""
    if is_distributed(cfg):
        return {"cpu": 0, "gpu": 0, "memory": 1}  # bytes: Tune needs a non-empty request
    return {"cpu": float(cfg.resources.cpu), "gpu": float(cfg.resources.gpu)}


def _report(plan: SweepPlan, results: tune.ResultGrid, tracking: MLflowTracking) -> int:
    metric, mode = plan.cfg.sweep.metric, plan.cfg.sweep.mode
    trials = trials_frame(results, metric)
    table = design_summary(trials, metric, mode)
    print(format_summary(table, best_trial(trials, metric, mode), metric), flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        trials.to_csv(Path(scratch) / "trials.csv", index=False)
        table.to_csv(Path(scratch) / "summary.csv")
        for name in ("trials.csv", "summary.csv"):
            tracking.log_parent_artifact(Path(scratch) / name)
        try:  # the significance report (verdicts in the terminal, full report on the parent run)
            print(report_sweep(tracking.uri, plan.cfg.sweep.name, tracking.parent_run_id,
                               plan.cfg.get("analysis"), Path(scratch) / "report"), flush=True)
        except Exception as exc:  # noqa: BLE001 - a failed analysis must not fail a finished sweep
            print(f"analysis failed: {exc!r}", file=sys.stderr)
    _cook_soups(plan, tracking)
    failed = int((trials["status"] == "failed").sum())
    if failed:
        print(f"{failed} trial(s) failed; see their child runs' 'error' tag", file=sys.stderr)
    return 1 if failed else 0


def _cook_soups(plan: SweepPlan, tracking: MLflowTracking) -> None:
    """Model soups of the trials' weights when ``sweep.soup`` asks (after the analysis)."""
    choice = str(plan.cfg.sweep.get("soup") or "none")
    if choice == "none":
        return
    try:
        print(cook_soups(tracking.uri, plan.cfg.sweep.name, tracking.parent_run_id, choice,
                         base_overrides=plan.base_overrides), flush=True)
    except Exception as exc:  # noqa: BLE001 - a failed soup must not fail a finished sweep
        print(f"soup failed: {exc}", file=sys.stderr)
