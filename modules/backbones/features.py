"""What poolers read: the last layer's token states plus per-layer summary vectors.

One input type serves the live backbone and the frozen feature cache alike. The cache stores only
these tensors (not all ``L + 1`` token-level layers), which keeps it small: last-layer token states
``[N, T, H]``, per-layer last-token states and per-layer masked means ``[N, L + 1, H]``, the mask.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch


def last_token_index(mask: torch.Tensor) -> torch.Tensor:
    """Index of the last non-pad token of each row, under left or right padding."""
    t = mask.shape[1]
    positions = torch.arange(t, device=mask.device).expand_as(mask)
    return torch.where(mask.bool(), positions, -1).max(dim=1).values.clamp(min=0)


def masked_mean(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over the non-pad tokens: ``[B, T, H]`` -> ``[B, H]``."""
    weights = mask.to(states.dtype).unsqueeze(-1)
    return (states * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


def gather_last(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The state of the last non-pad token: ``[B, T, H]`` -> ``[B, H]``."""
    index = last_token_index(mask)
    return states[torch.arange(states.shape[0], device=states.device), index]


@dataclass
class TokenFeatures:
    """``tokens`` [B, T, H] (last layer), ``mask`` [B, T], ``layer_last`` and ``layer_mean``
    [B, L + 1, H] (index 0 the embedding output, then every layer; last-token state / masked
    mean)."""

    tokens: torch.Tensor
    mask: torch.Tensor
    layer_last: torch.Tensor
    layer_mean: torch.Tensor

    @classmethod
    def from_hidden_states(
        cls, hidden_states: Sequence[torch.Tensor], mask: torch.Tensor
    ) -> TokenFeatures:
        layer_last = torch.stack([gather_last(h, mask) for h in hidden_states], dim=1)
        layer_mean = torch.stack([masked_mean(h, mask) for h in hidden_states], dim=1)
        return cls(hidden_states[-1], mask, layer_last, layer_mean)

    def to(self, dtype: torch.dtype) -> TokenFeatures:
        return TokenFeatures(
            self.tokens.to(dtype), self.mask, self.layer_last.to(dtype), self.layer_mean.to(dtype)
        )
