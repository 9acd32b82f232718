"""``latent_attention``: last-layer trainable pooling (Tang & Yang, 2024, arXiv 2409.02727,
after NV-Embed's latent attention layer, Lee et al., 2024).

As specified for this study: ``num_latents`` learned latent vectors cross-attend to the last
layer's non-pad token states, then a feed-forward block (both residual), then the mean over the
latents. (NV-Embed itself lets the tokens query the latents and averages over tokens.)
``normalize`` acts on the pooled vector, with statistics of the untrained pooler's outputs on the
training texts: a fixed affine map in front of the projection head.
"""

from __future__ import annotations

import torch
from torch import nn

from modules.backbones.features import TokenFeatures
from modules.embedding.poolers.base import Pooler
from modules.embedding.poolers.blocks import MLP, CrossAttention


class LatentAttentionPooler(Pooler):
    """Learned latents cross-attend to last-layer token states, FFN, mean over latents."""

    def __init__(
        self,
        hidden_size: int,
        num_layers: int = 0,
        num_latents: int = 16,
        num_heads: int = 4,
        head_dim: int = 32,
        ffn_mult: int = 2,
        normalize: str = "none",
    ) -> None:
        super().__init__(hidden_size, num_layers, normalize)
        self.latents = nn.Parameter(torch.randn(num_latents, hidden_size) * 0.02)
        self.attention = CrossAttention(hidden_size, num_heads, head_dim)
        self.ffn = MLP(hidden_size, ffn_mult)

    def pool(self, features: TokenFeatures) -> torch.Tensor:
        tokens = features.tokens
        latents = self.latents.to(tokens.dtype).expand(tokens.shape[0], -1, -1)
        x = latents + self.attention(latents, tokens, features.mask)
        x = x + self.ffn(x)
        return x.mean(dim=1)
