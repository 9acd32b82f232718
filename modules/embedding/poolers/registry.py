"""The pooler registry and the shared interface: ``forward(TokenFeatures) -> [B, D]``,
L2-normalized.

Every pooler is built as ``cls(hidden_size, num_layers, **config)`` and remembers ``config`` so
that an exported model can rebuild it by name (``build_pooler(name, hidden_size, num_layers,
**config)``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from modules.embedding.features import TokenFeatures

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
    """Base class: subclasses implement ``pool`` (unnormalized); ``forward`` L2-normalizes."""

    name = "base"

    def __init__(self, hidden_size: int, num_layers: int = 0, **config: Any) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.config = dict(config)

    @property
    def output_dim(self) -> int:
        return self.hidden_size

    def pool(self, features: TokenFeatures) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, features: TokenFeatures) -> torch.Tensor:
        return F.normalize(self.pool(features), dim=-1)
