"""The task interface: how one trial runs a study's procedure.

A task is built from the ``task`` config group (``_target_``) and called once per trial. The
orchestration (``sweeps/``) hands it the trial's full config and a :class:`RunContext`; the task
returns its final metrics. Studies that are not a single ``Trainer.fit`` (continual learning over a
task sequence, staged data selection) ship their own task class and a ``conf/task/<name>.yaml``;
nothing in ``sweeps/`` changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from lightning import Callback
from omegaconf import DictConfig


@dataclass
class RunContext:
    """What the orchestration gives a task: callbacks to attach, where to write, what to resume.

    ``callbacks`` must be attached to every ``Trainer`` whose epochs should be reported (they report
    metrics and checkpoints to the sweep). ``artifact_dir`` is a folder for files the sweep should
    record with the trial (per-example scores, exported models). ``resume_from`` is a Lightning
    checkpoint path when a retried or resumed trial should continue, else ``None``.
    """

    callbacks: list[Callback] = field(default_factory=list)
    artifact_dir: Path = Path(".")
    resume_from: str | None = None


class Task(Protocol):
    """A study's run procedure: ``run(cfg, ctx) -> {metric: value}``."""

    def run(self, cfg: DictConfig, ctx: RunContext) -> dict[str, float]: ...


def _as_floats(metrics: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items()}


class FitValidate:
    """The default task: build model, data and trainer from config; fit, then validate."""

    def run(self, cfg: DictConfig, ctx: RunContext) -> dict[str, float]:
        from hydra.utils import instantiate

        model = instantiate(cfg.model, optimizer=instantiate(cfg.optim))
        data = instantiate(cfg.data)
        trainer = instantiate(cfg.trainer, callbacks=[*ctx.callbacks, *extra_callbacks(cfg)])
        trainer.fit(model, datamodule=data, ckpt_path=ctx.resume_from)
        results = trainer.validate(model, datamodule=data, verbose=False)
        return _as_floats(results[0]) if results else {}


def extra_callbacks(cfg: DictConfig) -> list[Callback]:
    """Lightning callbacks a config adds by name under ``callbacks`` (each a ``_target_`` node)."""
    from hydra.utils import instantiate

    nodes = cfg.get("callbacks") or {}
    return [instantiate(node) for node in nodes.values() if node is not None]
