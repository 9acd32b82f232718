"""InfoNCE with in-batch and hard negatives (van den Oord et al., 2018; as used by Tang & Yang,
2024, arXiv 2409.02727): cosine similarities divided by a temperature of 0.05 (scale 20)."""

from __future__ import annotations

import torch
from torch.nn import functional as F


def info_nce(
    queries: torch.Tensor,
    positives: torch.Tensor,
    negatives: torch.Tensor | None = None,
    temperature: float = 0.05,
) -> torch.Tensor:
    """Query ``i``'s target is positive ``i``; every other positive and every hard negative in the
    batch is a negative. Inputs ``[B, D]`` (any norm; cosine similarity is used)."""
    q = F.normalize(queries, dim=-1)
    candidates = positives if negatives is None else torch.cat([positives, negatives], dim=0)
    logits = q @ F.normalize(candidates, dim=-1).T / temperature
    target = torch.arange(q.shape[0], device=q.device)
    return F.cross_entropy(logits, target)
