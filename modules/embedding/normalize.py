"""Feature normalization fitted on the training texts: ``none``, ``zscore`` or ``whiten``.

A frozen causal LM's hidden states are anisotropic: a few outlier dimensions (in SmolLM2-135M one
of about 2,000 against a median of about 4) dominate every cosine similarity (Ethayarajh, 2019,
"How Contextual are Contextualized Word Representations?"; Timkey & van Schijndel, 2021, "All
Bark and No Bite"). ``zscore`` centres each dimension and divides by its standard deviation;
``whiten`` maps the vectors to zero mean and identity covariance (Su et al., 2021, "Whitening
Sentence Representations for Better Semantics and Faster Retrieval"; Huang et al., 2021,
WhiteningBERT). Statistics are fitted once, on the training texts only, and kept as buffers, so
they are saved with the model and an exported model applies them.

Vectors come in ``groups`` (one per layer for the multi-layer pooler, one otherwise), each group
with its own statistics: inputs ``[..., groups, dim]``.
"""

from __future__ import annotations

import torch
from torch import nn

NORMALIZATIONS = ("none", "zscore", "whiten")


class FeatureNormalizer(nn.Module):
    """Per-group, per-dimension normalization (identity until :meth:`fit` is called)."""

    def __init__(self, mode: str = "none", groups: int = 1, dim: int = 1, eps: float = 1e-6):
        super().__init__()
        if mode not in NORMALIZATIONS:
            raise ValueError(f"normalize must be one of {NORMALIZATIONS}, got {mode!r}")
        self.mode, self.groups, self.dim, self.eps = mode, groups, dim, eps
        if mode == "none":
            return
        self.register_buffer("mean", torch.zeros(groups, dim))
        if mode == "zscore":
            self.register_buffer("transform", torch.ones(groups, dim))
        else:
            self.register_buffer("transform", torch.eye(dim).repeat(groups, 1, 1))

    @torch.no_grad()
    def fit(self, x: torch.Tensor) -> None:
        """Fit on ``x`` ``[N, groups, dim]`` (training texts only)."""
        if self.mode == "none":
            return
        if x.ndim != 3 or x.shape[1:] != (self.groups, self.dim):
            raise ValueError(f"expected [N, {self.groups}, {self.dim}] vectors, got {tuple(x.shape)}")
        x = x.double()
        mean = x.mean(dim=0)
        centred = x - mean
        if self.mode == "zscore":
            transform = 1.0 / (centred.std(dim=0) + self.eps)
        else:
            # W = U diag(1 / sqrt(s)) from the eigendecomposition of each group's covariance;
            # eps (relative to the mean eigenvalue) keeps near-null directions from exploding
            cov = torch.einsum("ngi,ngj->gij", centred, centred) / max(x.shape[0] - 1, 1)
            values, vectors = torch.linalg.eigh(cov)
            floor = self.eps * values.mean(dim=-1, keepdim=True)
            transform = vectors / torch.sqrt(values.clamp(min=0) + floor).unsqueeze(-2)
        self.mean.copy_(mean.float())
        self.transform.copy_(transform.float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "none":
            return x
        centred = x - self.mean.to(x.dtype)
        if self.mode == "zscore":
            return centred * self.transform.to(x.dtype)
        return torch.einsum("...gi,gij->...gj", centred, self.transform.to(x.dtype))
