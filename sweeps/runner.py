"""Runs a planned sweep: Ray up, Tuner fit or restore, summary, Ray down. Exit code 0 / 1 / 130."""

from __future__ import annotations

import errno
import json
import logging
import os
import signal
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig
from ray import tune
from ray.tune import Callback, CheckpointConfig, FailureConfig, RunConfig, TuneConfig, Tuner
from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback, TBXLoggerCallback

from sweeps import analysis, soup, storage
from sweeps.atomic_fs import storage_filesystem
from sweeps.checkpoint_retention import CheckpointRetention
from sweeps.errors import SweepConfigError
from sweeps.locks import store_lock, sweep_lock
from sweeps.metric_check import MetricCheck, missing_metric
from sweeps.plan import SweepPlan
from sweeps.progress import ProgressLines
from sweeps.provenance import git_state, package_versions
from sweeps.redact import (
    MASK,
    is_secret,
    redact_command,
    redact_config,
    redact_overrides,
    redaction_words,
)
from sweeps.search.build import is_pbt, is_searched, search_algorithm
from sweeps.search.resumable_grid import ResumableGrid
from sweeps.settings import is_distributed
from sweeps.summary import best_trial, design_summary, format_summary, trials_frame
from sweeps.tracking import SPACE_TAG, MLflowTracking, flat_config
from sweeps.trial import run_trial
from sweeps.write_queue import StoreFull, is_store_full

STATE_FILE = "sweep_state.json"
# A trial's newest checkpoints kept on storage, besides the one the saved sweep state resumes it from.
KEEP_CHECKPOINTS = 2


def prepare_state(plan: SweepPlan) -> dict:
    """Check resume is possible, or move an older sweep of the same name aside (never deleted)."""
    folder = plan.state_path
    if plan.resuming:
        state = read_state(folder)
        check_same_plan(state.get("plan"), plan_record(plan), force=plan.cfg.resume == "force")
        return state
    if storage.exists(folder):
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        storage.move(folder, f"{folder}.{stamp}")
    return {}


def run_sweep(plan: SweepPlan) -> int:
    """Run (or resume) the sweep, holding its name's lock; returns the process exit code."""
    with sweep_lock(plan.cfg.paths.output_dir, plan.cfg.sweep.name):
        return _run_locked(plan)


def _run_locked(plan: SweepPlan) -> int:
    cfg = plan.cfg
    previous = prepare_state(plan)
    tracking: MLflowTracking = instantiate(cfg.tracking)
    tracking.base_overrides = plan.base_overrides
    tracking.trial_artifacts = f"{plan.state_path}/artifacts"
    tracking.record_schedule = is_pbt(cfg)
    started = time.time()
    with store_lock(tracking.uri):
        # the space as run, for the report to tell a sampled search (secret keys masked; MLflow keeps
        # 8,000 characters of a tag)
        space = json.dumps({k: MASK if is_secret(k, tracking.redact) else v for k, v in plan.space.items()})
        tags = {**git_state(), **package_versions(), **({SPACE_TAG: space} if len(space) <= 8000 else {})}
        parent = tracking.start_sweep(cfg.sweep.name, tags,
                                      previous.get("parent_run_id"), title=sweep_title(plan))
    storage.write_text(f"{plan.state_path}/{STATE_FILE}",
                       json.dumps({"parent_run_id": parent, "tracking_uri": tracking.uri, "plan": plan_record(plan)}))
    if not previous:
        tracking.log_sweep_config(cfg, plan.command, plan.base_overrides)
        tracking.log_parent_summary(params=fixed_settings(plan, tracking.redact))
    print(plan.mlflow_hint(parent, tracking.experiment_id), flush=True)
    cluster = instantiate(cfg.cluster)
    # A study's target metric may exist only in a trial's final report (its test-set evaluation).
    os.environ.setdefault("TUNE_DISABLE_STRICT_METRIC_CHECKING", "1")
    quiet_ray(int(cfg.sweep.verbose))
    status, code = "FAILED", 1
    try:
        cluster.connect()
        results, interrupted = _fit_checked(_tuner(plan, tracking), tracking)
        # a searcher may end early (an exhausted discrete space): then its trials are all there are
        expected = len(results) if is_searched(cfg) else max(len(results), plan.num_trials)
        if interrupted or results.num_terminated + results.num_errors < expected:
            raise KeyboardInterrupt  # Tune caught Ctrl-C itself and saved its state
        tracking.flush()  # the writes queued while the MLflow server was unreachable, before the report
        code = _report(plan, results, tracking, time.time() - started)
        status = "FINISHED" if code == 0 else "FAILED"
    except KeyboardInterrupt:
        status, code = "KILLED", 130
        command = redact_command(plan.command, redaction_words(cfg))  # the terminal is a log too
        print(f"Interrupted: continue with  {command} resume=true", file=sys.stderr)
    finally:
        cluster.shutdown()
        _close_parent(tracking, status)
        print(plan.mlflow_hint(parent, tracking.experiment_id), flush=True)
    return code


def _close_parent(tracking: MLflowTracking, status: str) -> None:
    """Close the parent run; a failure here is a warning, never the error the sweep reports (the
    original error, if any, is already propagating and must stay the one the user sees)."""
    try:
        tracking.end_sweep(status)
    except Exception as exc:  # noqa: BLE001 - the store may be the thing that failed
        print(f"warning: could not close the MLflow parent run ({type(exc).__name__}: {exc})", file=sys.stderr)


def _fit_checked(tuner: Tuner, tracking: MLflowTracking) -> tuple[tune.ResultGrid, bool]:
    """``_fit``; a sweep that ``MetricCheck`` stopped is bad input (one line, exit 2), one whose
    MLflow store filled up an infrastructure failure (exit 3). Tune re-raises a callback's error as
    a ``TuneError`` holding only its text, so both are told by what the callbacks recorded."""
    missing_metric()  # a problem left by an earlier sweep of this process is not this one's
    tracking.queue.full = None
    try:
        return _fit(tuner)
    except Exception:
        problem = missing_metric()
        if problem:
            raise SweepConfigError(problem) from None
        if tracking.queue.full is not None:
            raise tracking.queue.full from None
        raise


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


def plan_record(plan: SweepPlan) -> dict:
    """What a resume must agree on: the trials' overrides (secrets masked: this is saved in the
    sweep's state folder), the space, the seeds, the trial count."""
    kept = [o for o in plan.base_overrides if o.split("=", 1)[0].lstrip("+~") != "resume"]
    overrides = sorted(redact_overrides(kept, redaction_words(plan.cfg)))
    return {"overrides": overrides, "space": dict(sorted(plan.space.items())),
            "seeds": [int(s) for s in plan.cfg.sweep.seeds], "num_samples": int(plan.cfg.sweep.num_samples)}


def check_same_plan(saved: dict | None, current: dict, force: bool) -> None:
    """A resume restores the saved sweep with its old settings: a command line that asks for other
    settings is refused, naming what differs, unless ``resume=force``."""
    if saved is None or force or saved == current:
        return
    differs = [key for key in current if saved.get(key) != current[key]]
    detail = "; ".join(f"{k}: saved {saved.get(k)!r}, now {current[k]!r}" for k in differs)
    raise SweepConfigError(f"resume: this command differs from the saved sweep ({detail}); "
                           "resume restores the saved settings: use resume=force to accept them")


def read_state(folder: str) -> dict:
    """The sweep's own state next to Ray's (the MLflow parent run id), if it was written."""
    path = f"{folder}/{STATE_FILE}"
    return json.loads(storage.read_text(path)) if storage.exists(path) else {}


def _tuner(plan: SweepPlan, tracking: MLflowTracking) -> Tuner:
    cfg = plan.cfg
    os.environ["TUNE_DISABLE_AUTO_CALLBACK_LOGGERS"] = "1"  # ours to choose: see tune_loggers
    os.environ["TUNE_GLOBAL_CHECKPOINT_S"] = str(float(cfg.sweep.save_state_s))  # no other way in
    distributed = is_distributed(cfg)
    trainable = tune.with_resources(
        tune.with_parameters(run_trial, base_overrides=plan.base_overrides), trial_resources(cfg)
    )
    if plan.resuming:
        return Tuner.restore(plan.state_path, trainable=trainable,
                             storage_filesystem=storage_filesystem(plan.state_path))
    searched = is_searched(cfg)
    return Tuner(
        trainable,
        param_space=plan.param_space,
        tune_config=TuneConfig(
            metric=cfg.sweep.metric,
            mode=cfg.sweep.mode,
            scheduler=instantiate(cfg.scheduler, **({"space": plan.space} if is_pbt(cfg) else {})),
            search_alg=_search_alg(plan),
            # under a searcher Tune counts trials: each configuration once per seed
            num_samples=plan.num_trials if searched else int(cfg.sweep.num_samples),
            reuse_actors=bool(cfg.sweep.reuse_actors) and not distributed,
        ),
        run_config=RunConfig(
            name=cfg.sweep.name,
            storage_path=str(cfg.storage.path),
            storage_filesystem=storage_filesystem(str(cfg.storage.path)),
            failure_config=FailureConfig(max_failures=int(cfg.sweep.max_failures)),
            # Tune keeps every checkpoint: its own pruning can delete the one a resume needs
            checkpoint_config=CheckpointConfig(num_to_keep=None),
            callbacks=[tracking, MetricCheck(str(cfg.sweep.metric)),  # logged, then checked
                       *retention(cfg), *progress_lines(plan), *tune_loggers(cfg)],
            verbose=tune_verbosity(int(cfg.sweep.verbose)),
        ),
    )


def retention(cfg: DictConfig) -> list[CheckpointRetention]:
    """Old checkpoints are deleted, except under PBT: it restarts a trial from another's checkpoint,
    which must still exist by then."""
    return [] if is_pbt(cfg) else [CheckpointRetention(KEEP_CHECKPOINTS)]


def _search_alg(plan: SweepPlan):
    """A searcher (optuna, bohb) with seeds as repeats, or the grid / random generator.
    max_concurrent goes here: Tune ignores TuneConfig.max_concurrent_trials with a generator."""
    if is_searched(plan.cfg):
        return search_algorithm(plan.cfg, plan.space, concurrency(plan.cfg))
    return ResumableGrid(constant_grid_search=True, max_concurrent=concurrency(plan.cfg),
                         seed=int(plan.cfg.sweep.search_seed))


def progress_lines(plan: SweepPlan) -> list[ProgressLines]:
    """``sweep.verbose=1`` (the default): one line per trial event; 0: none; 2 and 3: Tune's own."""
    if int(plan.cfg.sweep.verbose) != 1:
        return []
    return [ProgressLines(plan.num_trials, str(plan.cfg.sweep.metric))]


def quiet_ray(verbose: int) -> None:
    """Keep Ray's notices that a user cannot act on out of the terminal: the token-auth notice
    (token auth is on by design here, and the hint is to turn it off) and, below ``sweep.verbose=2``,
    Tune's experiment box and its TensorBoard hint (TensorBoard is not installed; Tune's legacy
    reporter at verbosity 0 prints neither)."""
    logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(logging.ERROR)
    for name in DiskFullTrialErrors.LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, DiskFullTrialErrors) for f in logger.filters):
            logger.addFilter(DiskFullTrialErrors())
    if verbose < 2:
        os.environ["RAY_AIR_NEW_OUTPUT"] = "0"


class DiskFullTrialErrors(logging.Filter):
    """Drops Ray's tracebacks of a write that failed because the disk is full (a trial's, or an
    upload of the sweep's state, whose syncer puts its traceback in the message): the sweep then
    ends with one line saying so (``sweeps/cli.py``), and a trial's error stays on its child run."""

    LOGGERS = ("ray.tune.execution.tune_controller", "ray.tune.execution.experiment_state",
               "ray.train._internal.syncer")

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None:
            return not is_store_full(error)
        return os.strerror(errno.ENOSPC) not in record.getMessage()


def tune_loggers(cfg: DictConfig) -> list[Callback]:
    """Tune's own per-trial files: ``result.json`` and ``progress.csv`` (its experiment analysis
    reads them), and TensorBoard event files only under ``sweep.tensorboard``: Tune would add all
    three, and tensorboardX imports torch into the driver."""
    loggers: list[Callback] = [CSVLoggerCallback(), JsonLoggerCallback()]
    return [*loggers, TBXLoggerCallback()] if bool(cfg.sweep.tensorboard) else loggers


def tune_verbosity(verbose: int) -> int:
    """Tune's console output: silent unless ``sweep.verbose`` asks for its tables (2, 3)."""
    return verbose if verbose >= 2 else 0


def concurrency(cfg) -> int:
    """``sweep.max_concurrent``, capped for multi-worker trials by how many worker groups the local
    machine can hold at once: such a trial reserves nothing itself (its workers do), so Tune would
    start every trial together and their worker groups would starve each other of CPUs."""
    wanted = int(cfg.sweep.max_concurrent)
    if not is_distributed(cfg) or not str(cfg.cluster.get("_target_", "")).endswith("LocalCluster"):
        return wanted
    cpus = int(cfg.cluster.get("num_cpus") or os.cpu_count() or 1)
    per_trial = max(float(cfg.resources.cpu), 1e-9) * int(cfg.resources.workers)
    fits = max(1, int(cpus // per_trial))
    return min(wanted, fits) if wanted > 0 else fits


def trial_resources(cfg) -> dict[str, float]:
    """What one Tune trial reserves. A multi-worker trial only drives its Ray Train workers, which
    reserve ``resources.cpu``/``resources.gpu`` each, so the trial itself reserves (almost) nothing."""
    if is_distributed(cfg):
        return {"cpu": 0, "gpu": 0, "memory": 1}  # bytes: Tune needs a non-empty request
    return {"cpu": float(cfg.resources.cpu), "gpu": float(cfg.resources.gpu)}


def sweep_title(plan: SweepPlan) -> str:
    """The parent run's name: what was compared, e.g. ``pooling_grid: design × 3 seeds · 11-30 14:02``."""
    axes = " × ".join(plan.space) or "one design"
    seeds = len(plan.cfg.sweep.seeds)
    return f"{plan.cfg.sweep.name}: {axes} × {seeds} seed{'s' if seeds > 1 else ''} · {time.strftime('%m-%d %H:%M')}"


def fixed_settings(plan: SweepPlan, redact: tuple[str, ...]) -> dict[str, str]:
    """The settings every trial shares (the driver's config without the swept keys, secrets
    masked), as params."""
    swept = set(plan.space) | {"seed"}
    flat = flat_config(redact_config(plan.cfg, redact))
    return {k: v for k, v in flat.items() if k not in swept and not k.startswith("sweep.space.")}


def _report(plan: SweepPlan, results: tune.ResultGrid, tracking: MLflowTracking, wall_s: float) -> int:
    metric, mode = plan.cfg.sweep.metric, plan.cfg.sweep.mode
    trials = trials_frame(results, metric)
    counts = trials["status"].value_counts()
    tracking.log_parent_summary(metrics={
        "trials_finished": float(counts.get("finished", 0)),
        "trials_failed": float(counts.get("failed", 0)),
        "trials_stopped": float(counts.get("stopped", 0)),
        "sweep_wall_s": wall_s,
    })
    table = design_summary(trials, metric, mode)
    print(format_summary(table, best_trial(trials, metric, mode), metric), flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        trials.to_csv(Path(scratch) / "trials.csv", index=False)
        table.to_csv(Path(scratch) / "summary.csv")
        for name in ("trials.csv", "summary.csv"):
            tracking.log_parent_artifact(Path(scratch) / name)
        print_report(plan, tracking, Path(scratch) / "report")
    _cook_soups(plan, tracking)
    failed = int((trials["status"] == "failed").sum())
    if failed:
        print(f"{failed} trial(s) failed; see their child runs' 'error' tag", file=sys.stderr)
    return 1 if failed else 0


def print_report(plan: SweepPlan, tracking: MLflowTracking, folder: Path) -> None:
    """The significance report: verdicts in the terminal, the full report on the parent run. A
    failed analysis does not fail a finished sweep, but a full disk does (exit 3): the report is
    then missing, and ``resume=true`` writes it once space is freed."""
    try:
        print(analysis.report_sweep(tracking.uri, plan.cfg.sweep.name, tracking.parent_run_id,
                                    plan.cfg.get("analysis"), folder), flush=True)
    except Exception as exc:  # noqa: BLE001 - any other failure leaves the trials' records as they are
        if is_store_full(exc):
            raise StoreFull(errno.ENOSPC, f"the disk filled up while writing the report ({exc})") from None
        print(f"analysis failed: {exc!r}", file=sys.stderr)


def _cook_soups(plan: SweepPlan, tracking: MLflowTracking) -> None:
    """Model soups of the trials' weights when ``sweep.soup`` asks (after the analysis)."""
    choice = str(plan.cfg.sweep.get("soup") or "none")
    if choice == "none":
        return
    try:
        print(soup.cook_soups(tracking.uri, plan.cfg.sweep.name, tracking.parent_run_id, choice,
                         base_overrides=plan.base_overrides), flush=True)
    except Exception as exc:  # noqa: BLE001 - a failed soup must not fail a finished sweep
        print(f"soup failed: {exc}", file=sys.stderr)
