"""One trial's body, shared by the Tune function trainable (:mod:`sweeps.trial`) and the Ray Train
worker loop (:mod:`sweeps.distributed`): quiet logs, seed, restore, ``task.run``, the final report.

Neither caller's Ray API appears here: each passes its own callbacks, checkpoint and file name, and
reports the returned metrics itself (``tune.report`` or ``ray.train.report``).
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lightning import Callback, seed_everything
from omegaconf import DictConfig

from modules.contract.keys import FINAL_KEY
from modules.contract.run import RunContext
from sweeps.space import SEED_KEY


def execute(
    cfg: DictConfig,
    sampled: dict[str, Any],
    callbacks: Sequence[Callback],
    artifact_dir: Path,
    checkpoint: Any,
    checkpoint_file: str,
) -> dict[str, float]:
    """Seed, build the task, run it with a :class:`RunContext` (resuming from ``checkpoint``, a
    Ray ``Checkpoint`` or None), and return its metrics with :data:`FINAL_KEY` added."""
    from hydra.utils import instantiate

    seed_everything(int(sampled.get(SEED_KEY, cfg.seed)), workers=True, verbose=False)
    artifact_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="resume-") as scratch:
        ctx = RunContext(
            callbacks=list(callbacks),
            artifact_dir=artifact_dir,
            resume_from=restored_checkpoint(checkpoint, Path(scratch), checkpoint_file),
        )
        metrics = instantiate(cfg.task).run(cfg, ctx)
    return {**metrics, FINAL_KEY: 1.0}


def restored_checkpoint(checkpoint: Any, scratch: Path, file_name: str) -> str | None:
    """The Lightning checkpoint file inside the Ray checkpoint a retried or resumed trial was
    restored from, copied under ``scratch``; None when there is none."""
    if checkpoint is None:
        return None
    path = Path(checkpoint.to_directory(str(scratch))) / file_name
    return str(path) if path.exists() else None


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
