"""What a trial hands a task (:class:`RunContext`), and the task protocols.

A task is built from the ``task`` config group (``_target_``) and called once per trial with the
trial's full config and a :class:`RunContext`; it returns its final metrics. Studies that are not a
single ``Trainer.fit`` (continual learning over a task sequence, staged data selection) ship their
own task class; nothing in ``sweeps/`` changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from omegaconf import DictConfig

if TYPE_CHECKING:  # the driver imports this module to hand RunContext over; it never trains
    import torch
    from lightning import Callback, LightningModule, Trainer


@dataclass
class RunContext:
    """What the orchestration gives a task: callbacks to attach, where to write, what to resume.

    Build every ``Trainer`` through :meth:`trainer` and fit it through :meth:`fit`: they attach
    the sweep's ``callbacks`` (which report metrics and checkpoints to the sweep), the config's
    own ``callbacks`` and the resume path, so a task cannot lose reporting or resume.
    ``artifact_dir`` is a folder for files the sweep records with the trial (per-example scores,
    exported models). ``resume_from`` is a Lightning checkpoint path when a retried or resumed
    trial should continue, else ``None``.
    """

    callbacks: list[Callback] = field(default_factory=list)
    artifact_dir: Path = Path(".")
    resume_from: str | None = None

    def trainer(self, cfg: DictConfig, callbacks: Sequence[Callback] = (), **kwargs: Any) -> Trainer:
        """``cfg.trainer`` instantiated with the task's ``callbacks`` (first), the sweep's and the
        config's; ``kwargs`` override trainer settings (e.g. ``max_epochs``)."""
        from hydra.utils import instantiate

        attached = [*callbacks, *self.callbacks, *extra_callbacks(cfg)]
        return instantiate(cfg.trainer, callbacks=attached, **kwargs)

    def fit(self, trainer: Trainer, module: LightningModule, **kwargs: Any) -> None:
        """``trainer.fit(module, **kwargs)``, resuming from :attr:`resume_from` when set."""
        trainer.fit(module, ckpt_path=self.resume_from, **kwargs)


def extra_callbacks(cfg: DictConfig) -> list[Callback]:
    """Lightning callbacks a config adds by name under ``callbacks`` (each a ``_target_`` node)."""
    from hydra.utils import instantiate

    nodes = cfg.get("callbacks") or {}
    return [instantiate(node) for node in nodes.values() if node is not None]


class Task(Protocol):
    """A study's run procedure: ``run(cfg, ctx) -> {metric: value}``.

    A task whose Trainer comes from ``ctx.trainer`` and fits through ``ctx.fit`` (so it writes the
    sweep's checkpoints and resumes from ``ctx.resume_from``) says so with a class attribute
    ``resumes_from_checkpoints = True``: population-based training (``scheduler=pbt``) needs it
    to clone one trial's weights into another.
    """

    def run(self, cfg: DictConfig, ctx: RunContext) -> dict[str, float]: ...


class EvaluatesWeights(Protocol):
    """A task whose trials' weights can be averaged (model soups, ``python -m sweeps.soup``).

    Its trials write their fine-tuned weights with ``modules.contract.weights.save_weights``;
    ``evaluate_weights`` scores any weights of the same architecture on the named ``splits``
    ("heldout": the data that selects, "test": the data that reports) and returns the same metric
    names as ``run``, each prefixed by its split (e.g. ``{"heldout/acc": x, "test/acc": y}``).
    """

    def evaluate_weights(
        self,
        cfg: DictConfig,
        state_dict: dict[str, torch.Tensor],
        splits: Sequence[str] = ("heldout", "test"),
    ) -> dict[str, float]: ...
