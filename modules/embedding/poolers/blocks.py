"""Building blocks of the trainable poolers: multi-head cross-attention from learned latents to a
masked set of key/value vectors, and feed-forward blocks (GELU MLP; GEGLU, Shazeer, 2020)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class CrossAttention(nn.Module):
    """Queries ``[B, M, H]``, or ``[M, H]`` shared by the batch (a pooler's latents), attend to
    keys/values ``[B, N, H]`` (``key_mask`` [B, N], 1 = keep) with ``num_heads`` heads of width
    ``head_dim``; output ``[B, M, H]``.

    With fewer queries than the head width the keys are not projected: per head,
    ``q_h (x W_k,h)^T = (q_h W_k,h) x^T`` and ``A_h (x W_v,h) = (A_h x) W_v,h``, so each key costs
    ``2 * num_heads * M`` multiply-adds per feature instead of ``2 * num_heads * head_dim`` for the
    key/value projection. The same function of the weights, evaluated in another order.
    """

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
        m = queries.shape[-2]
        q = self.q(queries).unflatten(-1, (self.num_heads, self.head_dim)).transpose(-3, -2)
        attend = self.attend_unprojected if m < self.head_dim else self.attend_projected
        attended = attend(q, keys, None if key_mask is None else key_mask.bool())
        return self.out(attended.transpose(1, 2).flatten(2))

    def attend_projected(
        self, q: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor | None
    ) -> torch.Tensor:
        """Attention of ``q`` ([B,] heads, M, d) over the projected ``keys``: [B, heads, M, d]."""
        b, n, _ = keys.shape
        k, v = self.kv(keys).view(b, n, 2, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q = q.expand(b, *q.shape[-3:])
        mask = None if mask is None else mask[:, None, None, :]
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)

    def attend_unprojected(
        self, q: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor | None
    ) -> torch.Tensor:
        """Attention of ``q`` ([B,] heads, M, d) over the unprojected ``keys``: [B, heads, M, d]."""
        heads, m, d = q.shape[-3:]
        w_k, w_v = self.kv.weight.view(2, heads, d, -1).unbind(0)  # [heads, d, H] each
        q_in_keys = torch.einsum("...hmd,hdc->...hmc", q, w_k).flatten(-3, -2) * d**-0.5
        scores = keys @ q_in_keys.transpose(-1, -2)  # [B, N, heads * M]; one matmul if shared
        if mask is not None:
            scores = scores.masked_fill(~mask[:, :, None], float("-inf"))
        weighted_keys = scores.softmax(dim=1).transpose(1, 2) @ keys  # [B, heads * M, H]
        return torch.einsum("bhmc,hdc->bhmd", weighted_keys.unflatten(1, (heads, m)), w_v)


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
