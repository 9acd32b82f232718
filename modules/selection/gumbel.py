"""Gumbel-top-k sampling of the next stage's data, lowest scores favoured (MATES, Yu et al.,
NeurIPS 2024: temperature 0.5 on the influence model's predicted reference loss, cxcscmu/MATES
``src/select_data/select_data.py`` lines 35-40 and 55; Kool et al., ICML 2019, for Gumbel-top-k as
sampling without replacement). The official code keeps the smallest ``score / t + Gumbel``; here
the largest ``-score / t + Gumbel``, which samples exactly in proportion to ``exp(-score / t)``."""

from __future__ import annotations

import torch


def gumbel_top_k(
    scores: torch.Tensor, k: int, temperature: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Indices of ``k`` items drawn without replacement, item ``i`` weighted by
    ``exp(-scores[i] / temperature)``: the ``k`` largest ``-scores / temperature + Gumbel(0, 1)``.
    Temperature 0 is plain top-k of the lowest scores; a high temperature approaches uniform."""
    scores = torch.as_tensor(scores, dtype=torch.float64).flatten()
    if not 0 <= k <= len(scores):
        raise ValueError(f"k={k} outside [0, {len(scores)}]")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if temperature == 0:
        return torch.argsort(scores, stable=True)[:k]
    uniform = torch.rand(len(scores), generator=generator, dtype=torch.float64)
    gumbel = -torch.log(-torch.log(uniform.clamp(1e-12, 1 - 1e-12)))
    return torch.topk(-scores / temperature + gumbel, k).indices
