"""Building blocks of the trainable poolers: multi-head cross-attention from learned latents to a
masked set of key/value vectors, and feed-forward blocks (GELU MLP; GEGLU, Shazeer, 2020)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class CrossAttention(nn.Module):
    """Queries ``[B, M, H]`` attend to keys/values ``[B, N, H]`` (``key_mask`` [B, N], 1 = keep)
    with ``num_heads`` heads of width ``head_dim``; output ``[B, M, H]``."""

    def __init__(self, hidden_size: int, num_heads: int, head_dim: int) -> None:
        super().__init__()
        inner = num_heads * head_dim
        self.num_heads, self.head_dim = num_heads, head_dim
        self.q = nn.Linear(hidden_size, inner, bias=False)
        self.kv = nn.Linear(hidden_size, 2 * inner, bias=False)
        self.out = nn.Linear(inner, hidden_size, bias=False)

    def forward(
        self, queries: torch.Tensor, keys: torch.Tensor, key_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        b, m, _ = queries.shape
        n = keys.shape[1]
        q = self.q(queries).view(b, m, self.num_heads, self.head_dim).transpose(1, 2)
        k, v = self.kv(keys).view(b, n, 2, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        mask = None if key_mask is None else key_mask.bool()[:, None, None, :]
        attended = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.out(attended.transpose(1, 2).reshape(b, m, -1))


class MLP(nn.Module):
    """Linear -> GELU -> Linear."""

    def __init__(self, hidden_size: int, mult: int = 4) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(hidden_size, mult * hidden_size),
            nn.GELU(),
            nn.Linear(mult * hidden_size, hidden_size),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class GEGLU(nn.Module):
    """GEGLU feed-forward (Shazeer, 2020, "GLU Variants Improve Transformer"):
    ``W2 (GELU(W x) * V x)``."""

    def __init__(self, hidden_size: int, mult: int = 4) -> None:
        super().__init__()
        self.proj = nn.Linear(hidden_size, 2 * mult * hidden_size)
        self.out = nn.Linear(mult * hidden_size, hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        value, gate = self.proj(x).chunk(2, dim=-1)
        return self.out(value * F.gelu(gate))
