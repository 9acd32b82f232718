"""One trial's body, shared by the Tune function trainable (:mod:`sweeps.trial`) and the Ray Train
worker loop (:mod:`sweeps.train_worker`): seed, restore, ``task.run``, the final report.

Neither caller's Ray API appears here: each passes its own callbacks, checkpoint and file name, and
reports the returned metrics itself (``tune.report`` or ``ray.train.report``).
"""

from __future__ import annotations

import tempfile
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
