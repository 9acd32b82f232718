"""The pooler registry and the shared interface: ``forward(TokenFeatures) -> [B, D]``,
L2-normalized.

Every pooler is built as ``cls(hidden_size, num_layers, normalize=..., **config)`` and remembers
its config so that an exported model can rebuild it by name (``build_pooler(name, hidden_size,
num_layers, **config)``). ``normalize`` (``none | zscore | whiten``, ``normalize.py``) is fitted
on the training texts by :meth:`Pooler.fit_normalizer`; by default it acts on the pooled vector,
the multi-layer pooler applies it to each layer's vector.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from modules.backbones.features import TokenFeatures
from modules.embedding.normalize import FeatureNormalizer

POOLERS: dict[str, type[Pooler]] = {}


def register(name: str) -> Callable[[type[Pooler]], type[Pooler]]:
    """Class decorator: make a pooler available under ``name``."""

    def wrap(cls: type[Pooler]) -> type[Pooler]:
        if name in POOLERS:
            raise ValueError(f"pooler {name!r} registered twice")
        cls.name = name
        POOLERS[name] = cls
        return cls

    return wrap


def build_pooler(name: str, hidden_size: int, num_layers: int = 0, **config: Any) -> Pooler:
    """A registered pooler by name (``num_layers``: transformer layers, for multilayer pooling)."""
    if name not in POOLERS:
        raise KeyError(f"unknown pooler {name!r}; registered: {sorted(POOLERS)}")
    return POOLERS[name](hidden_size, num_layers, **config)


class Pooler(nn.Module):
    """Base class: subclasses implement ``pool`` (unnormalized); ``forward`` applies the feature
    normalization to the pooled vector, then L2-normalizes. A subclass that normalizes its inputs
    instead (multi-layer pooling) sets ``normalizes_inputs`` and overrides
    :meth:`normalization_inputs` and :meth:`normalization_groups`."""

    name = "base"
    normalizes_inputs = False

    def __init__(
        self, hidden_size: int, num_layers: int = 0, normalize: str = "none", **config: Any
    ) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.config = {**config, "normalize": normalize}
        self.normalizer = FeatureNormalizer(normalize, self.normalization_groups(), hidden_size)

    @property
    def output_dim(self) -> int:
        return self.hidden_size

    def normalization_groups(self) -> int:
        """How many vectors per text the normalizer sees (each with its own statistics)."""
        return 1

    def normalization_inputs(self, features: TokenFeatures) -> torch.Tensor:
        """The vectors the normalizer acts on, ``[B, groups, D]``: the pooled vector."""
        return self.pool(features).unsqueeze(1)

    @torch.no_grad()
    def fit_normalizer(self, batches: Iterable[TokenFeatures]) -> None:
        """Fit the feature normalization on the features of the training texts."""
        if self.normalizer.mode == "none":
            return
        was_training = self.training
        self.eval()
        self.normalizer.fit(torch.cat([self.normalization_inputs(f) for f in batches]))
        self.train(was_training)

    def pool(self, features: TokenFeatures) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, features: TokenFeatures) -> torch.Tensor:
        pooled = self.pool(features)
        if not self.normalizes_inputs:
            pooled = self.normalizer(pooled.unsqueeze(1)).squeeze(1)
        return F.normalize(pooled, dim=-1)
