"""The LightningModule that trains a :class:`~modules.levi.model.LayerwiseEnsemble` (LEVI or any
of its baselines): the pretrained features come from the batch (frozen, cached) or from a live
backbone (LoRA or full fine-tuning), the loss is one cross-entropy on the combined prediction
(plus ``aux_weight`` x the adapters' own cross-entropies), and the backbone trains at its own
learning rate."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from modules.levi.model import LayerwiseEnsemble, PretrainedLayers

Batch = dict[str, torch.Tensor]


class DictDataset(Dataset):
    """Rows of equally long tensors, served as ``{name: tensor[i]}`` (batched by default collate)."""

    def __init__(self, tensors: dict[str, torch.Tensor]) -> None:
        sizes = {len(t) for t in tensors.values()}
        if len(sizes) != 1:
            raise ValueError(
                f"tensors of different lengths: { {k: len(v) for k, v in tensors.items()} }"
            )
        self.tensors = tensors
        self.size = sizes.pop()

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> Batch:
        return {k: v[i] for k, v in self.tensors.items()}


class LeviModule(L.LightningModule):
    """Fits LEVI (Roh et al., ICML 2024) or a baseline; logs ``train/loss``, ``val/loss`` and
    ``val/id_acc`` (the in-distribution validation accuracy) every epoch."""

    def __init__(
        self,
        net: LayerwiseEnsemble,
        optimizer: Callable[..., torch.optim.Optimizer],
        pretrained: PretrainedLayers | None = None,
        backbone_lr: float = 5e-5,
        aux_weight: float = 0.0,
    ) -> None:
        super().__init__()
        self.net, self.pretrained = net, pretrained
        self.optimizer_factory = optimizer
        self.backbone_lr, self.aux_weight = backbone_lr, aux_weight

    def forward(self, batch: Batch) -> torch.Tensor:
        """Every adapter's logits ``[B, A, C]``."""
        features = batch.get("pretrained")
        if features is None and self.pretrained is not None:
            features = self.pretrained(batch["input_ids"], batch["attention_mask"])
        return self.net(features, batch.get("ngrams"))

    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        loss = F.cross_entropy(self.net.combine(logits), labels)
        if self.aux_weight > 0:
            per_adapter = F.cross_entropy(
                logits.flatten(0, 1), labels.repeat_interleave(logits.shape[1])
            )
            loss = loss + self.aux_weight * per_adapter
        return loss

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        loss = self.loss(self(batch), batch["label"])
        self.log("train/loss", loss, on_step=False, on_epoch=True, batch_size=len(batch["label"]))
        return loss

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        logits = self(batch)
        n = len(batch["label"])
        acc = (self.net.combine(logits).argmax(-1) == batch["label"]).float().mean()
        self.log("val/loss", self.loss(logits, batch["label"]), on_epoch=True, batch_size=n)
        self.log("val/id_acc", acc, on_epoch=True, batch_size=n)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        groups: list[dict[str, Any]] = [{"params": list(self.net.parameters())}]
        if self.pretrained is not None:
            backbone = [p for p in self.pretrained.parameters() if p.requires_grad]
            if backbone:
                groups.append({"params": backbone, "lr": self.backbone_lr})
        return self.optimizer_factory(groups)


@torch.no_grad()
def predict(module: LeviModule, batches: Iterable[Batch]) -> np.ndarray:
    """Predicted classes (the combined prediction) over ``batches``, in order, in eval mode."""
    module.eval()
    preds = [module.net.combine(module(batch)).argmax(-1) for batch in batches]
    return torch.cat(preds).cpu().numpy() if preds else np.zeros(0, dtype=int)


def loader(tensors: dict[str, torch.Tensor], batch_size: int, shuffle: bool = False) -> DataLoader:
    return DataLoader(DictDataset(tensors), batch_size=batch_size, shuffle=shuffle)
