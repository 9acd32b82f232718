"""The stage loop as Lightning pieces: training epoch ``s`` is stage ``s``.

- :class:`CausalLMModule`: trains the LM, one optimizer step per batch under the schedule.
- :class:`StagedData`: the pool as a data module whose training sample set is swapped between
  stages (the Trainer reloads its loader every epoch); it remembers what was trained on, so no
  sequence is seen twice.
- :class:`StageSelection`: a callback that, at the end of every stage, evaluates the model
  (``modules/selection/evaluation.py``), logs the stage's measurements, and asks the selector for
  the next stage's data. It must come before the sweep's reporting callbacks.

Per stage it logs the evaluation (``ref/loss``, ``eval/loss``, ``eval/loss_se``,
``val/ppl/<source>``, the unigram and untrained references, the disjointness flag),
``mix/<source>`` (source mixture of the stage's data), ``tokens_seen``, ``time/train_s`` and
``time/select_s`` (the selection that chose this stage's data; ``time/probe_s``,
``time/score_s``, ``influence/*`` when the selector measures them) and ``time/overhead``
(selection time / training time, cumulative).

A stage's candidates are either every pool sequence not trained on yet (``slice_size`` 0) or a
fresh slice of ``slice_size`` sequences of the (shuffled) pool, as the official code selects a
fifth of a new slice of C4 files at every stage (cxcscmu/MATES ``src/select_data/select_data.py``
lines 9-11 and 64).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import lightning as L
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from modules.selection.evaluation import constants, decayed_copy, evaluate
from modules.selection.lm import lm_loss, schedule
from modules.selection.pool import SelectionData
from modules.selection.reference import sequence_losses
from modules.selection.selectors import Selection, Selector, StageContext


class CausalLMModule(L.LightningModule):
    """Pretrains ``model`` with next-token loss; AdamW (betas and weight decay from the optimizer
    config) stepped every batch under :func:`schedule`. Gradient clipping is the Trainer's."""

    def __init__(
        self,
        model: nn.Module,
        optimizer: Callable[..., torch.optim.Optimizer],
        total_steps: int,
        warmup_steps: int,
        decay_steps: int = 0,
        min_lr_ratio: float = 0.1,
    ) -> None:
        super().__init__()
        self.model = model
        self.optimizer_factory = optimizer
        self.lr_factor = schedule(total_steps, warmup_steps, decay_steps, min_lr_ratio)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        ids = batch[0] if isinstance(batch, (list, tuple)) else batch
        loss = lm_loss(self.model, ids)
        self.log("train/loss", loss.detach(), on_step=False, on_epoch=True)
        return loss

    def configure_optimizers(self) -> dict[str, Any]:
        optimizer = self.optimizer_factory(self.model.parameters())
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, self.lr_factor)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


class StagedData(L.LightningDataModule):
    """Training batches from the current stage's pool indices; the rest of the pool waits."""

    def __init__(self, pool_ids: torch.Tensor, batch_size: int, seed: int = 0) -> None:
        super().__init__()
        self.pool_ids, self.batch_size, self.seed = pool_ids, batch_size, seed
        self.indices = np.zeros(0, dtype=np.int64)
        self.used = np.zeros(len(pool_ids), dtype=bool)
        self.stage = -1

    def set_stage(self, stage: int, indices: np.ndarray) -> None:
        """The sample set of ``stage``; its sequences count as used from now on."""
        indices = np.asarray(indices, dtype=np.int64)
        if self.used[indices].any():
            raise ValueError("a stage may only draw sequences not trained on before")
        self.stage, self.indices = stage, indices
        self.used[indices] = True

    def candidates(self) -> np.ndarray:
        """Pool indices not trained on yet."""
        return np.nonzero(~self.used)[0]

    def train_dataloader(self) -> DataLoader:
        gen = torch.Generator().manual_seed(self.seed * 1000 + self.stage)
        data = TensorDataset(self.pool_ids[torch.as_tensor(self.indices)])
        return DataLoader(data, batch_size=self.batch_size, shuffle=True, drop_last=True, generator=gen)

    def state_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "indices": self.indices.tolist(), "used": self.used.tolist()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.stage = int(state["stage"])
        self.indices = np.asarray(state["indices"], dtype=np.int64)
        self.used = np.asarray(state["used"], dtype=bool)


def mixture(data: SelectionData, indices: np.ndarray) -> dict[str, float]:
    """The fraction of each source among ``indices``."""
    tags = data.pool_source[np.asarray(indices, dtype=np.int64)]
    total = max(len(tags), 1)
    return {name: float((tags == i).sum() / total) for i, name in enumerate(data.sources)}


class StageSelection(L.Callback):
    """Evaluate and log at the end of each stage, then select the next stage's data. With
    ``decay_steps > 0`` the evaluation is of a decayed copy (:func:`decayed_copy`) trained on the
    start of the next selection (after the last stage, a selection made for that alone)."""

    def __init__(
        self,
        selector: Selector,
        data: SelectionData,
        datamodule: StagedData,
        stages: int,
        stage_size: int,
        clip: float,
        seed: int,
        cache_dir: str,
        slice_size: int = 0,
        decay_steps: int = 0,
        decay_halvings: float = 4.0,
        accumulate: int = 1,
    ) -> None:
        self.selector, self.data, self.datamodule = selector, data, datamodule
        self.stages, self.stage_size, self.clip, self.seed = stages, stage_size, clip, seed
        self.cache_dir, self.slice_size = cache_dir, slice_size
        self.decay_steps, self.decay_halvings, self.accumulate = decay_steps, decay_halvings, accumulate
        self.pending: dict[str, float] = {"time/select_s": 0.0}
        self.history: list[dict[str, float]] = []
        self.totals = {"train": 0.0, "select": 0.0}
        self.constants = constants(data)
        self.last_items: torch.Tensor | None = None
        self._started = 0.0

    @property
    def decay_size(self) -> int:
        """Sequences the decay branch trains on."""
        return self.decay_steps * self.datamodule.batch_size * self.accumulate

    def candidates(self, stage: int, k: int) -> np.ndarray:
        """Pool indices stage ``stage`` may draw its ``k`` from (after the last stage: the decay
        branch's, from a slice of proportional size)."""
        if self.slice_size:
            size = self.slice_size if k == self.stage_size else math.ceil(self.slice_size * k / self.stage_size)
            rows = np.arange(stage * self.slice_size, min(stage * self.slice_size + size, len(self.datamodule.used)))
            return rows[~self.datamodule.used[rows]]
        return self.datamodule.candidates()

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if "eval/loss_init" not in self.constants:  # not on a resumed run: the model is trained
            self.constants["eval/loss_init"] = float(
                sequence_losses(pl_module.model, self.data.evaluation.ids).mean())

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._started = time.monotonic()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        stage = trainer.current_epoch
        train_s = time.monotonic() - self._started
        self.totals["train"] += train_s
        self.totals["select"] += self.pending.get("time/select_s", 0.0)
        stage_metrics = {f"mix/{k}": v for k, v in mixture(self.data, self.datamodule.indices).items()}
        stage_metrics.update(self.pending)
        selection = None
        if stage + 1 < self.stages:
            selection = self.select(stage + 1, self.stage_size, trainer, pl_module)
        elif self.decay_steps:
            selection = self.select(stage + 1, self.decay_size, trainer, pl_module)
        evaluated = pl_module.model
        if self.decay_steps:
            ids = self.data.pool_ids[torch.as_tensor(selection.indices)]
            evaluated = decayed_copy(pl_module.model, trainer.optimizers[0], ids, self.decay_steps,
                                     self.datamodule.batch_size * self.accumulate, self.accumulate,
                                     self.decay_halvings, self.clip)
        metrics, self.last_items = evaluate(evaluated, self.data)
        metrics.update(self.constants)
        metrics.update(stage_metrics)
        metrics["tokens_seen"] = float((stage + 1) * self.stage_size * self.data.pool_ids.shape[1])
        metrics["time/train_s"] = train_s
        metrics["time/overhead"] = self.totals["select"] / max(self.totals["train"], 1e-9)
        for key, value in metrics.items():
            pl_module.log(key, float(value), on_step=False, on_epoch=True)
        self.history.append({"stage": float(stage), **metrics})
        if selection is not None and stage + 1 < self.stages:
            self.datamodule.set_stage(stage + 1, selection.indices)

    def select(self, stage: int, k: int, trainer: L.Trainer, pl_module: L.LightningModule) -> Selection:
        """The selector's ``k`` for ``stage``; its measurements wait for that stage's log."""
        started = time.monotonic()
        ctx = StageContext(
            data=self.data,
            candidates=self.candidates(stage, k),
            k=k,
            stage=stage,
            model=pl_module.model,
            optimizer=trainer.optimizers[0],
            clip=self.clip,
            seed=self.seed,
            cache_dir=self.cache_dir,
        )
        if len(ctx.candidates) < ctx.k:
            raise ValueError(f"stage {stage} needs {ctx.k} sequences; {len(ctx.candidates)} left to choose from")
        selection = self.selector.select(ctx)
        self.pending = {**selection.metrics, "time/select_s": time.monotonic() - started}
        return selection

    def state_dict(self) -> dict[str, Any]:
        return {"pending": self.pending, "history": self.history, "totals": self.totals,
                "constants": self.constants}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.pending = dict(state["pending"])
        self.history = list(state["history"])
        self.totals = dict(state["totals"])
        self.constants = dict(state.get("constants", self.constants))
