"""Parameter-free poolers: masked mean, first token (CLS), last token (EOS), position-weighted mean.

- ``mean``: masked mean over tokens (Reimers & Gurevych, 2019, Sentence-BERT).
- ``first``: the first token's state, the [CLS] vector of BERT (Devlin et al., 2019).
- ``last_token``: the last non-pad token's state, the "EOS-last" pooling of Tang & Yang (2024,
  arXiv 2409.02727) and of RepLLaMA (Ma et al., 2023); correct under left and right padding
  (the tokenizer appends EOS, see ``backbone.ensure_eos_and_pad``).
- ``weighted_mean``: position-weighted mean, weight ``i`` for the ``i``-th non-pad token
  (SGPT, Muennighoff, 2022), suited to causal attention where later tokens saw more context.
"""

from __future__ import annotations

import torch

from modules.backbones.features import TokenFeatures, gather_last, masked_mean
from modules.embedding.poolers.base import Pooler


class MeanPooler(Pooler):
    """Masked mean of the last layer (Sentence-BERT)."""

    def pool(self, features: TokenFeatures) -> torch.Tensor:
        return masked_mean(features.tokens, features.mask)


class FirstTokenPooler(Pooler):
    """The first non-pad token's last-layer state ([CLS], BERT)."""

    def pool(self, features: TokenFeatures) -> torch.Tensor:
        first = features.mask.long().argmax(dim=1)
        return features.tokens[torch.arange(first.shape[0], device=first.device), first]


class LastTokenPooler(Pooler):
    """The last non-pad token's last-layer state (EOS-last; Tang & Yang, 2024)."""

    def pool(self, features: TokenFeatures) -> torch.Tensor:
        return gather_last(features.tokens, features.mask)


class WeightedMeanPooler(Pooler):
    """Position-weighted mean, weights 1..n over the non-pad tokens (SGPT; Muennighoff, 2022)."""

    def pool(self, features: TokenFeatures) -> torch.Tensor:
        mask = features.mask.to(features.tokens.dtype)
        weights = mask.cumsum(dim=1) * mask
        weights = weights / weights.sum(dim=1, keepdim=True).clamp(min=1.0)
        return (features.tokens * weights.unsqueeze(-1)).sum(dim=1)
