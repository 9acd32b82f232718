"""The embedding model: backbone (or cached backbone features) -> pooler -> projection head."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from modules.backbones.features import TokenFeatures
from modules.backbones.hf import Backbone


class ProjectionHead(nn.Module):
    """A linear map ``D -> out_dim`` initialized to the identity (or an orthogonal slice), so an
    untrained model equals its bare pooler. Every design trains one identical head, so designs
    without parameters (mean, EOS-last) are trained too."""

    def __init__(self, input_dim: int, out_dim: int | None = None) -> None:
        super().__init__()
        out_dim = out_dim or input_dim
        self.linear = nn.Linear(input_dim, out_dim)
        with torch.no_grad():
            if out_dim == input_dim:
                self.linear.weight.copy_(torch.eye(input_dim))
            else:
                nn.init.orthogonal_(self.linear.weight)
            self.linear.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.linear(x), dim=-1)


class EmbeddingModel(nn.Module):
    """``embed(features)`` or ``forward(texts)``: L2-normalized embeddings.

    ``backbone`` may be ``None`` when every text comes from a feature cache (frozen regime).
    """

    def __init__(self, pooler: nn.Module, head: nn.Module, backbone: Backbone | None = None):
        super().__init__()
        self.backbone = backbone
        self.pooler = pooler
        self.head = head

    def features(self, texts: list[str]) -> TokenFeatures:
        if self.backbone is None:
            raise RuntimeError("no backbone loaded: these texts are not in the feature cache")
        device = next(self.backbone.parameters()).device
        tokens = {k: v.to(device) for k, v in self.backbone.tokenize(texts).items()}
        # packed into rows when backbone.packing is "prepack": no compute on padding, in training too
        hidden = self.backbone.states(tokens["input_ids"], tokens["attention_mask"])
        return TokenFeatures.from_hidden_states(hidden, tokens["attention_mask"])

    def embed(self, features: TokenFeatures) -> torch.Tensor:
        return self.head(self.pooler(features.to(torch.float32)))

    def forward(self, texts: list[str]) -> torch.Tensor:
        return self.embed(self.features(texts))
