"""A multilayer perceptron classifier as a LightningModule."""

from __future__ import annotations

from collections.abc import Callable

import lightning as L
import torch
from torch import nn
from torch.nn import functional as F


class MLPClassifier(L.LightningModule):
    """A one-hidden-layer MLP trained with cross-entropy (the smoke study's model).

    ``optimizer`` is a partial (``_partial_: true`` in ``conf/optim``) that takes the parameters.
    """

    def __init__(
        self,
        input_dim: int,
        num_classes: int,
        hidden: int = 64,
        dropout: float = 0.0,
        optimizer: Callable[..., torch.optim.Optimizer] | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["optimizer"])
        self.net = nn.Sequential(
            nn.Linear(input_dim, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, num_classes)
        )
        self.optimizer_factory = optimizer or torch.optim.Adam

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def _step(self, batch: tuple[torch.Tensor, torch.Tensor], stage: str) -> torch.Tensor:
        x, y = batch
        logits = self(x)
        loss = F.cross_entropy(logits, y)
        acc = (logits.argmax(dim=-1) == y).float().mean()
        self.log(f"{stage}_loss", loss, prog_bar=False, on_epoch=True, on_step=False)
        self.log(f"{stage}_acc", acc, prog_bar=False, on_epoch=True, on_step=False)
        return loss

    def training_step(self, batch, batch_idx):  # noqa: D102
        return self._step(batch, "train")

    def validation_step(self, batch, batch_idx):  # noqa: D102
        self._step(batch, "val")

    def test_step(self, batch, batch_idx):  # noqa: D102
        self._step(batch, "test")

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return self.optimizer_factory(self.parameters())
