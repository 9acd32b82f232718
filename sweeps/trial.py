"""One trial, inside a Ray worker: overrides → Hydra compose → seed → task.run with a Tune reporter.

The trainable receives only plain strings (the base overrides) and the sampled values; it never
receives OmegaConf or Hydra objects, which do not pickle cleanly. It re-composes the config with
Hydra's compose API, so a trial's config means exactly what the same overrides mean on the
command line, and it never depends on the working directory (Ray changes it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig
from ray import tune

from sweeps import storage
from sweeps.config import trial_config
from sweeps.search.build import is_pbt
from sweeps.settings import is_distributed
from sweeps.worker_logs import quiet_worker_logs

CHECKPOINT_FILE = "checkpoint"
ARTIFACTS = "artifacts"


def run_trial(sampled: dict[str, Any], base_overrides: list[str]) -> None:
    """The Tune function trainable: compose, then :func:`~sweeps.execute.execute` with a Tune
    reporter, or fit on several Ray Train workers (:mod:`sweeps.distributed`)."""
    # the driver only hands this function to Tune: the training stack (torch, Lightning, Ray
    # Train) is imported in the worker that runs it, not in every driver; a multi-worker trial
    # imports Lightning on its Train workers only, not in this launcher
    quiet_worker_logs()
    cfg = trial_config(base_overrides, sampled)
    if is_distributed(cfg):
        from sweeps.distributed import run_distributed

        run_distributed(cfg, sampled, base_overrides, trial_artifact_dir(cfg))
        return
    from ray.tune.integration.pytorch_lightning import TuneReportCheckpointCallback

    from sweeps.execute import execute
    from sweeps.optimizer_values import ApplyOptimizerValues

    reporter = TuneReportCheckpointCallback(filename=CHECKPOINT_FILE, on="train_epoch_end")
    callbacks = [reporter]
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None and is_pbt(cfg) and "optim" in cfg:  # it may be another trial's
        callbacks.append(ApplyOptimizerValues.from_config(cfg.optim))
    metrics = execute(cfg, sampled, callbacks, trial_artifact_dir(cfg), checkpoint, CHECKPOINT_FILE)
    tune.report(metrics)


def trial_artifact_dir(cfg: DictConfig) -> Path:
    """Where a trial writes the files its child run records: ``<state>/artifacts/<trial id>``.

    Not Tune's ``get_trial_dir()``: a reused actor (``reuse_actors``) gets its working directory
    there, which Ray never syncs (seen in Ray 2.60), so later trials' files would be lost. With
    remote storage (``s3://``) the files go to the trial folder that Ray syncs.
    """
    context = tune.get_context()
    root = str(cfg.storage.path)
    if storage.is_uri(root):
        return Path(context.get_trial_dir()) / "artifacts"
    return Path(root) / str(cfg.sweep.name) / ARTIFACTS / context.get_trial_id()

