"""``multilayer``: Multi-Layers Trainable Pooling (Tang & Yang, 2024, arXiv 2409.02727).

One vector per transformer layer ``1..L`` (the EOS-position, i.e. last non-pad, state under causal
attention; the masked mean under bidirectional attention). The embedding layer's output is left
out, as in the official code (yixuantt/PoolingAndAttn: model3_trainer.py line 239 and
model5_trainer.py lines 253-255 read ``hidden_states[layer] for layer in range(1, layers + 1)``;
pooling_layers/MultiLayersTrainablePooling.py lines 92 and 99 size the layer-position embedding to
the 32 layers of Mistral-7B). Each layer's vector is feature-normalized with its own statistics
(``normalize``), a learned layer-position embedding is added; ``num_latents`` learned latents
cross-attend to the ``L`` layer vectors (pre-norm, residual), then a pre-norm GEGLU feed-forward
(residual), then the mean over latents.

Size: the paper uses 768 latents and 32 heads of width 2048 (about 1B parameters with a 4096-wide
7B backbone): ``pooling=multilayer pooling.num_latents=768 pooling.num_heads=32
pooling.head_dim=2048``. The CPU default is 4 latents x 4 heads x 32.
"""

from __future__ import annotations

import torch
from torch import nn

from modules.backbones.features import TokenFeatures
from modules.embedding.poolers.base import Pooler
from modules.embedding.poolers.blocks import GEGLU, CrossAttention


class MultiLayerPooler(Pooler):
    """Latents cross-attend to per-layer vectors (layers 1..L, each normalized with its own
    statistics) + layer-position embeddings (pre-norm, GEGLU)."""

    normalizes_inputs = True

    def __init__(
        self,
        hidden_size: int,
        num_layers: int = 0,
        num_latents: int = 16,
        num_heads: int = 4,
        head_dim: int = 32,
        ffn_mult: int = 2,
        attention: str = "causal",
        normalize: str = "none",
    ) -> None:
        if num_layers < 1:
            raise ValueError("multilayer pooling needs the backbone's num_layers")
        if attention not in ("causal", "bidirectional"):
            raise ValueError(f"attention must be causal or bidirectional, got {attention!r}")
        super().__init__(hidden_size, num_layers, normalize)
        self.attention_mode = attention
        self.layer_position = nn.Parameter(torch.zeros(num_layers, hidden_size))
        self.latents = nn.Parameter(torch.randn(num_latents, hidden_size) * 0.02)
        self.norm_latents = nn.LayerNorm(hidden_size)
        self.norm_layers = nn.LayerNorm(hidden_size)
        self.attention = CrossAttention(hidden_size, num_heads, head_dim)
        self.norm_ffn = nn.LayerNorm(hidden_size)
        self.ffn = GEGLU(hidden_size, ffn_mult)

    def normalization_groups(self) -> int:
        return self.num_layers

    def normalization_inputs(self, features: TokenFeatures) -> torch.Tensor:
        """The per-layer vectors of layers ``1..L``: ``[B, L, H]``."""
        layers = features.layer_last if self.attention_mode == "causal" else features.layer_mean
        return layers[:, 1:]

    def pool(self, features: TokenFeatures) -> torch.Tensor:
        layers = self.normalizer(self.normalization_inputs(features))
        layers = layers + self.layer_position.to(layers.dtype)
        latents = self.latents.to(layers.dtype).expand(layers.shape[0], -1, -1)
        x = latents + self.attention(self.norm_latents(latents), self.norm_layers(layers))
        x = x + self.ffn(self.norm_ffn(x))
        return x.mean(dim=1)
