"""One trial, inside a Ray worker: overrides → Hydra compose → seed → task.run with a Tune reporter.

The trainable receives only plain strings (the base overrides) and the sampled values; it never
receives OmegaConf or Hydra objects, which do not pickle cleanly. It re-composes the config with
Hydra's compose API, so a trial's config means exactly what the same overrides mean on the
command line, and it never depends on the working directory (Ray changes it).
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from lightning import seed_everything
from omegaconf import DictConfig
from ray import tune
from ray.tune.integration.pytorch_lightning import TuneReportCheckpointCallback

from modules.task import RunContext
from sweeps import storage
from sweeps.config import trial_config
from sweeps.distributed import is_distributed, run_distributed
from sweeps.space import SEED_KEY

CHECKPOINT_FILE = "checkpoint"
ARTIFACTS = "artifacts"


def run_trial(sampled: dict[str, Any], base_overrides: list[str]) -> None:
    """The Tune function trainable: compose, seed, run the task, report its final metrics."""
    quiet_worker_logs()
    cfg = trial_config(base_overrides, sampled)
    if is_distributed(cfg):
        run_distributed(cfg, sampled, base_overrides, trial_artifact_dir(cfg))
        return
    seed_everything(int(sampled.get(SEED_KEY, cfg.seed)), workers=True, verbose=False)
    artifact_dir = trial_artifact_dir(cfg)
    artifact_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="resume-") as scratch:
        ctx = RunContext(
            callbacks=[TuneReportCheckpointCallback(filename=CHECKPOINT_FILE, on="train_epoch_end")],
            artifact_dir=artifact_dir,
            resume_from=_restored_checkpoint(Path(scratch)),
        )
        metrics = instantiate(cfg.task).run(cfg, ctx)
    tune.report({**metrics, "final": 1.0})


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


def quiet_worker_logs() -> None:
    """Keep trial output to warnings: the driver shows Tune's live trial table instead."""
    for name in ("lightning.pytorch", "lightning.fabric", "ray.train", "ray.tune"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*weights_only.*")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    # transformers draws a "Loading weights" bar per model load; Ray forwards each redraw as a line
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from huggingface_hub.utils import disable_progress_bars
    from transformers.utils import logging as transformers_logging

    disable_progress_bars()
    transformers_logging.disable_progress_bar()  # read once at import, which has happened by now


def _restored_checkpoint(scratch: Path) -> str | None:
    """The Lightning checkpoint Tune restored this trial from (a retry or a resumed sweep), if any."""
    checkpoint = tune.get_checkpoint()
    if checkpoint is None:
        return None
    path = Path(checkpoint.to_directory(str(scratch))) / CHECKPOINT_FILE
    return str(path) if path.exists() else None
