"""TEEN's training-free prototype calibration for few-shot class-incremental learning.

Wang, Zhou, Ye & Zhan, 2023, "Few-Shot Class-Incremental Learning via Training-Free Prototype
Calibration", NeurIPS 2023 (official code: wangkiw/TEEN). New classes' prototypes, estimated from
a few shots, are biased towards base classes they resemble; TEEN pulls each new prototype towards
a similarity-weighted mix of the base prototypes:

    p̂ = p / ‖p‖  (new and base prototypes alike)
    w_{n,b}  = softmax_b(τ · p̂_n · p̂_b)                           τ = 16
    Δ_n      = normalize(Σ_b w_{n,b} · p̂_b)
    p_n     ← (1 − α) · p̂_n + α · Δ_n                             α ∈ [0.1, 0.5]; α = 0: no change

Both sides of the fusion are unit vectors, as in the official code (``models/teen/Network.py``,
``soft_calibration``, lines 85-100: ``base_protos`` and ``cur_protos`` L2-normalized on lines 87
and 90 before the weights, the weighted sum and the fusion on line 98); fusing an unnormalized
prototype would weigh ``Δ_n`` by the prototype's norm rather than by α. Prototypes are compared by
cosine similarity (the usual FSCIL classifier), so α = 0 is the plain prototype classifier the
calibration is measured against.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def calibration_weights(new: torch.Tensor, base: torch.Tensor, tau: float = 16.0) -> torch.Tensor:
    """``[n_new, n_base]`` weights ``softmax(τ · cos(new, base))`` over the base prototypes."""
    cos = F.normalize(new, dim=-1) @ F.normalize(base, dim=-1).T
    return torch.softmax(tau * cos, dim=-1)


def calibrate_prototypes(
    new: torch.Tensor, base: torch.Tensor, alpha: float = 0.5, tau: float = 16.0
) -> torch.Tensor:
    """New prototypes ``(1 − α) · n̂ + α · normalize(Σ w · b̂)`` (``[n_new, dim]``), ``n̂`` and ``b̂``
    the L2-normalized new and base prototypes."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    new, base = F.normalize(new, dim=-1), F.normalize(base, dim=-1)
    delta = F.normalize(calibration_weights(new, base, tau) @ base, dim=-1)
    return (1.0 - alpha) * new + alpha * delta


def prototype_predict(features: torch.Tensor, prototypes: torch.Tensor) -> torch.Tensor:
    """Row index of the most cosine-similar prototype for each feature."""
    return (F.normalize(features, dim=-1) @ F.normalize(prototypes, dim=-1).T).argmax(dim=1)
