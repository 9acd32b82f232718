"""After a population-based-training clone, the optimizer trains with the trial's own values.

A PBT trial resumes from another trial's Lightning checkpoint, and Lightning restores that
trial's optimizer state, hyper-parameters included: without this callback a mutated learning
rate would be silently replaced by the donor's. (Ray's PBT examples for Lightning set the new
values by hand after the restore for the same reason.)
"""

from __future__ import annotations

from typing import Any

from lightning import Callback, LightningModule, Trainer
from omegaconf import DictConfig


class ApplyOptimizerValues(Callback):
    """Sets ``cfg.optim``'s numeric values (``lr``, ``weight_decay``, ``momentum``...) on every
    optimizer param group once the checkpoint is restored. A learning-rate scheduler keeps its
    phase: its base rate becomes the new one and the current rate is scaled with it."""

    def __init__(self, values: dict[str, float]) -> None:
        self.values = values

    @classmethod
    def from_config(cls, optim: DictConfig) -> ApplyOptimizerValues:
        return cls({k: float(v) for k, v in optim.items()
                    if not str(k).startswith("_") and isinstance(v, int | float) and not isinstance(v, bool)})

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        schedulers = {id(c.scheduler.optimizer): c.scheduler for c in trainer.lr_scheduler_configs}
        for optimizer in trainer.optimizers:
            scheduler = schedulers.get(id(optimizer))
            for index, group in enumerate(optimizer.param_groups):
                self._apply(group, getattr(scheduler, "base_lrs", None), index)

    def _apply(self, group: dict[str, Any], base_lrs: list[float] | None, index: int) -> None:
        for key, value in self.values.items():
            if key != "lr" and isinstance(group.get(key), int | float):
                group[key] = value
        lr = self.values.get("lr")
        if lr is None:
            return
        if base_lrs is not None and base_lrs[index]:
            group["lr"] = lr * group["lr"] / base_lrs[index]
            base_lrs[index] = lr
            group["initial_lr"] = lr
        else:
            group["lr"] = lr
