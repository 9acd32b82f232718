"""Generalized-mean poolers with learnable exponents.

- ``gem``: GeM pooling (Radenović, Tolias & Chum, 2018, "Fine-tuning CNN Image Retrieval with No
  Human Annotation") over the non-pad tokens with one learnable ``p``; ``p = 1`` is mean pooling.
- ``ggem``: Group GeM (Ko et al., 2022, "Group Generalized Mean Pooling for Vision Transformer"):
  the channels are split into ``groups`` groups, each with its own learnable ``p``.

Transformer states are signed, so the power is sign-preserving: ``m = mean(sign(x) |x|^p)``,
output ``sign(m) |m|^(1/p)``; at ``p = 1`` this is exactly the masked mean. ``p`` is kept >= 1.
"""

from __future__ import annotations

import torch
from torch import nn

from modules.backbones.features import TokenFeatures, masked_mean
from modules.embedding.poolers.base import Pooler

EPS = 1e-6


def signed_power(x: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    return torch.sign(x) * x.abs().clamp(min=EPS).pow(p)


def generalized_mean(states: torch.Tensor, mask: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """Masked sign-preserving generalized mean; ``p`` broadcasts over the channel dimension."""
    m = masked_mean(signed_power(states, p), mask)
    return signed_power(m, 1.0 / p)


class GeMPooler(Pooler):
    """GeM over tokens with one learnable exponent (Radenović et al., 2018)."""

    def __init__(
        self, hidden_size: int, num_layers: int = 0, p: float = 3.0, normalize: str = "none"
    ) -> None:
        super().__init__(hidden_size, num_layers, normalize)
        self.p = nn.Parameter(torch.tensor(float(p)))

    def pool(self, features: TokenFeatures) -> torch.Tensor:
        return generalized_mean(features.tokens, features.mask, self.p.clamp(min=1.0))


class GroupGeMPooler(Pooler):
    """Group GeM: one learnable exponent per channel group (Ko et al., 2022)."""

    def __init__(
        self,
        hidden_size: int,
        num_layers: int = 0,
        p: float = 3.0,
        groups: int = 8,
        normalize: str = "none",
    ) -> None:
        super().__init__(hidden_size, num_layers, normalize)
        if hidden_size % groups:
            raise ValueError(f"hidden size {hidden_size} is not divisible by {groups} groups")
        self.groups = groups
        self.p = nn.Parameter(torch.full((groups,), float(p)))

    def pool(self, features: TokenFeatures) -> torch.Tensor:
        p = self.p.clamp(min=1.0).repeat_interleave(self.hidden_size // self.groups)
        return generalized_mean(features.tokens, features.mask, p)
