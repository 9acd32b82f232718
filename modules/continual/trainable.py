"""Continual methods that train the backbone, on raw inputs (image tensors or lists of texts).

- :class:`SLCAMethod` — SLCA (Zhang et al., ICCV 2023) in full: the slow learner (backbone at a
  rate well below fine-tuning's, SGD momentum 0.9), a head block per task trained on the current
  task's logits, class Gaussians from the trained backbone's features and classifier alignment.
  Its ablations: the backbone at the fine-tuning rate, and ``alignment=False``.
- :class:`FinetuneMethod` — sequential fine-tuning of backbone and head (the lower bound): one
  growing head, cross-entropy over every seen class on the current task's data only; the backbone
  at a fine-tuning rate, the head at a large one.
- :class:`JointMethod` — the upper bound: at the last task, backbone and head are trained from the
  pretrained state on every task's training data at once (steps before the last only store the
  data; their accuracy-matrix rows are those of the untrained head and are not meaningful —
  report ``cl/acc`` after the last task).

All train the backbone with its BatchNorm statistics frozen unless ``train_bn``
(:func:`~modules.continual.training.train_mode`). Given an identity ``encoder`` on cached
features, they train the head alone (a frozen backbone).

All see targets as positions in the scenario's class order and work with any ``encoder`` module
mapping a batch of inputs to ``[n, feature_dim]`` features (e.g.
:class:`~modules.continual.features.EfficientNetLite0Features`,
:class:`~modules.continual.features.MiniLMFeatures`).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from modules.continual.slca import SLCALearner, TaskHead
from modules.continual.training import sgd, train_mode


def take(inputs: Any, index: torch.Tensor | np.ndarray) -> Any:
    """Rows ``index`` of a tensor, an array or a list (of texts)."""
    if isinstance(inputs, torch.Tensor | np.ndarray):
        return inputs[torch.as_tensor(index) if isinstance(inputs, torch.Tensor) else index]
    return [inputs[int(i)] for i in index]


def batches(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """A shuffled split of ``range(n)`` into index batches."""
    return list(torch.randperm(n, generator=generator).split(batch_size))


@torch.no_grad()
def encode_all(encoder: nn.Module, inputs: Any, batch_size: int = 128) -> torch.Tensor:
    """Features of all ``inputs`` in eval mode."""
    encoder.eval()
    n = len(inputs)
    return torch.cat(
        [
            encoder(take(inputs, np.arange(s, min(s + batch_size, n))))
            for s in range(0, n, batch_size)
        ]
    )


class SLCAMethod:
    """SLCA with a trainable backbone (see :class:`~modules.continual.slca.SLCALearner`)."""

    needs_inputs = True

    def __init__(
        self,
        encoder: nn.Module,
        feature_dim: int,
        epochs: int = 3,
        batch_size: int = 32,
        seed: int = 0,
        **learner_args: Any,
    ) -> None:
        self.learner = SLCALearner(encoder, feature_dim, seed=seed, **learner_args)
        self.epochs, self.batch_size = epochs, batch_size
        self.generator = torch.Generator().manual_seed(seed)

    def learn_task(self, task: int, inputs: Any, targets: torch.Tensor) -> None:
        self.learner.begin_task(len(torch.unique(targets)))
        for _ in range(self.epochs):
            for batch in batches(len(targets), self.batch_size, self.generator):
                self.learner.train_step(take(inputs, batch), targets[batch])
        features = encode_all(self.learner.encoder, inputs)
        self.learner.end_task(features, targets, task)

    def scores(self, inputs: Any) -> torch.Tensor:
        features = encode_all(self.learner.encoder, inputs)
        self.learner.head.eval()
        with torch.no_grad():
            return self.learner.head(features)

    def predict(self, inputs: Any) -> torch.Tensor:
        return self.scores(inputs).argmax(dim=1)

    def state_dict(self) -> dict:
        return {"learner": self.learner.state_dict(), "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.learner.load_state_dict(state["learner"])
        self.generator.set_state(state["generator"])


class FinetuneMethod:
    """Sequential fine-tuning: backbone and a single growing head, a learning rate for each."""

    needs_inputs = True

    def __init__(
        self,
        encoder: nn.Module,
        feature_dim: int,
        head_lr: float = 0.1,
        backbone_lr: float = 1e-3,
        epochs: int = 3,
        batch_size: int = 32,
        momentum: float = 0.9,
        weight_decay: float = 5e-4,
        train_bn: bool = False,
        frozen_epochs: int | None = None,
        seed: int = 0,
    ) -> None:
        self.encoder, self.head = encoder, TaskHead(feature_dim)
        self.head_lr, self.backbone_lr, self.train_bn = head_lr, backbone_lr, train_bn
        self.momentum, self.weight_decay = momentum, weight_decay
        self.batch_size, self.seed = batch_size, seed
        # A head on cached features of a frozen backbone costs next to nothing per epoch, so it
        # may take more epochs (``frozen_epochs``) than a trained backbone can afford.
        frozen = not any(p.requires_grad for p in encoder.parameters())
        self.epochs = frozen_epochs if frozen and frozen_epochs is not None else epochs
        self.generator = torch.Generator().manual_seed(seed)

    def state_dict(self) -> dict:
        return {
            "encoder": self.encoder.state_dict(),
            "head": self.head.head_state(),
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.encoder.load_state_dict(state["encoder"])
        self.head.load_head_state(state["head"])
        self.generator.set_state(state["generator"])

    def _fit(self, inputs: Any, targets: torch.Tensor) -> None:
        groups = [(self.encoder, self.backbone_lr), (self.head, self.head_lr)]
        optimizer = sgd(groups, self.momentum, self.weight_decay)
        train_mode(self.encoder, self.train_bn)
        self.head.train()
        for _ in range(self.epochs):
            for batch in batches(len(targets), self.batch_size, self.generator):
                loss = F.cross_entropy(self.head(self.encoder(take(inputs, batch))), targets[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()

    def learn_task(self, task: int, inputs: Any, targets: torch.Tensor) -> None:
        self.head.add_task(len(torch.unique(targets)), seed=self.seed * 1000 + task)
        self._fit(inputs, targets)

    def scores(self, inputs: Any) -> torch.Tensor:
        features = encode_all(self.encoder, inputs)
        self.head.eval()
        with torch.no_grad():
            return self.head(features)

    def predict(self, inputs: Any) -> torch.Tensor:
        return self.scores(inputs).argmax(dim=1)


class JointMethod(FinetuneMethod):
    """All tasks' data at once, trained at the last task from the pretrained backbone."""

    def __init__(self, encoder: nn.Module, feature_dim: int, num_tasks: int, **kwargs: Any) -> None:
        super().__init__(encoder, feature_dim, **kwargs)
        self.num_tasks = num_tasks
        self.pretrained = copy.deepcopy(encoder.state_dict())
        self.stored: list[tuple[Any, torch.Tensor]] = []

    def state_dict(self) -> dict:
        return {**super().state_dict(), "stored": [[x, y] for x, y in self.stored]}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.stored = [(x, y) for x, y in state["stored"]]

    def learn_task(self, task: int, inputs: Any, targets: torch.Tensor) -> None:
        self.head.add_task(len(torch.unique(targets)), seed=self.seed * 1000 + task)
        self.stored.append((inputs, targets))
        if task < self.num_tasks - 1:
            return
        self.encoder.load_state_dict(self.pretrained)
        targets_all = torch.cat([t for _, t in self.stored])
        first = self.stored[0][0]
        if isinstance(first, torch.Tensor):
            inputs_all: Any = torch.cat([x for x, _ in self.stored])
        elif isinstance(first, np.ndarray):
            inputs_all = np.concatenate([x for x, _ in self.stored])
        else:
            inputs_all = [item for x, _ in self.stored for item in x]
        self._fit(inputs_all, targets_all)
