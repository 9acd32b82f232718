"""A text encoder plus a linear head, fine-tuned from one shared initialization.

:class:`TextClassifier` builds its encoder and head under a fixed ``init_seed`` (not the trial
seed), so every trial of a sweep starts from the same weights: the setting of model soups
(Wortsman et al., ICML 2022), where only the hyperparameters and the data order differ. Its
trainable weights (:meth:`TextClassifier.trainable_state_dict`) are what a trial saves and what a
soup averages; frozen weights come from the pretrained encoder and are identical everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import lightning as L
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader


class TextClassifier(nn.Module):
    """``encoder`` (a factory, ``_partial_: true``) → dropout → linear head over ``num_classes``."""

    def __init__(
        self,
        encoder: Callable[[], nn.Module],
        num_classes: int,
        init_seed: int = 0,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.init_seed = init_seed
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(init_seed)
            self.encoder = encoder()
            self.dropout = nn.Dropout(dropout)
            self.head = nn.Linear(int(self.encoder.feature_dim), num_classes)

    def forward(self, texts: Sequence[str]) -> torch.Tensor:
        return self.head(self.dropout(self.encoder(texts)))

    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        """The trained parameters by name (detached copies): what a trial saves."""
        return {n: p.detach().clone() for n, p in self.named_parameters() if p.requires_grad}

    def load_trainable(self, state_dict: dict[str, torch.Tensor]) -> None:
        """Load trained parameters; the names must be exactly this model's trainable ones."""
        expected = {n for n, p in self.named_parameters() if p.requires_grad}
        if set(state_dict) != expected:
            missing, extra = sorted(expected - set(state_dict)), sorted(set(state_dict) - expected)
            raise ValueError(f"weights do not fit the model: missing {missing[:3]}, extra {extra[:3]}")
        self.load_state_dict(state_dict, strict=False)


class TextClassifierModule(L.LightningModule):
    """Cross-entropy training of a :class:`TextClassifier`; checkpoints hold trained weights only."""

    def __init__(
        self,
        classifier: TextClassifier,
        optimizer: Callable[..., torch.optim.Optimizer] | None = None,
    ) -> None:
        super().__init__()
        self.classifier = classifier
        self.optimizer_factory = optimizer or torch.optim.AdamW
        self.strict_loading = False  # frozen pretrained weights are not in the checkpoint

    def training_step(self, batch: tuple[list[str], torch.Tensor], batch_idx: int) -> torch.Tensor:
        texts, labels = batch
        logits = self.classifier(texts)
        loss = F.cross_entropy(logits, labels)
        acc = (logits.argmax(dim=-1) == labels).float().mean()
        self.log("train/loss", loss, on_epoch=True, on_step=False, batch_size=len(texts))
        self.log("train/acc", acc, on_epoch=True, on_step=False, batch_size=len(texts))
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return self.optimizer_factory([p for p in self.parameters() if p.requires_grad])

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        trained = {f"classifier.{n}" for n in self.classifier.trainable_state_dict()}
        checkpoint["state_dict"] = {k: v for k, v in checkpoint["state_dict"].items() if k in trained}


@torch.inference_mode()
def predict(classifier: TextClassifier, loader: DataLoader) -> tuple[np.ndarray, np.ndarray, float]:
    """(predictions, targets, mean cross-entropy) of ``classifier`` over ``loader``, in eval mode."""
    was_training = classifier.training
    classifier.eval()
    preds, targets, loss, count = [], [], 0.0, 0
    for texts, labels in loader:
        logits = classifier(texts)
        loss += float(F.cross_entropy(logits, labels, reduction="sum"))
        count += len(labels)
        preds.append(logits.argmax(dim=-1).numpy())
        targets.append(labels.numpy())
    classifier.train(was_training)
    return np.concatenate(preds), np.concatenate(targets), loss / max(count, 1)
