"""LEVI: Generalizable Fine-tuning via Layer-wise Ensemble of Different Views (Roh et al.,
ICML 2024), implemented from the paper (no official code is public), and the baselines as special
cases of the same network.

A pretrained model (frozen, or LoRA-tuned) and a small model trained from scratch look at the same
input. For each chosen layer ``l`` of the pretrained model, an *adapting layer* ``f_l`` takes the
concatenation ``[h_l ; s]`` of that layer's representation ``h_l`` (the masked mean of its token
states) and the small model's representation ``s``, and predicts the classes. Intermediate layers
keep more general features than the last one; the small model adds the task-specific features the
pretrained model lacks.

**The combination chosen here**: the final prediction is the *mean of the adapting layers' logits*
(a product of experts: the softmax of the mean logit is the normalised geometric mean of the
adapters' distributions), and the *shared loss* is one cross-entropy on that combined prediction,
which back-propagates into every adapting layer (and the small model, and LoRA when on) at once.
Why: with one loss on the ensemble the adapters are trained jointly and may specialise (an adapter
over a general early layer need not be right alone where a later one is confident), which is the
point of a layer-wise ensemble; averaging logits keeps every adapter's scale comparable and costs
nothing at inference. ``aux_weight > 0`` adds the mean of the adapters' own cross-entropies, which
instead makes each adapter a stand-alone predictor (an alternative reading of "each adapting layer
predicts"); it is off by default.

Each adapting layer normalises its input (LayerNorm: layer representations differ in scale by an
order of magnitude across depth) and is a one-hidden-layer MLP (``hidden > 0``) or linear
(``hidden = 0``). Special cases (``conf/levi/``):

- linear probing / full / LoRA fine-tuning: one layer (the last), no small model, a linear head;
- the small model alone: no pretrained layer, the small model plus a linear head;
- LEVI: several layers plus the small model, MLP adapters.
"""

from __future__ import annotations

import torch
from torch import nn

from modules.backbones.features import masked_mean
from modules.backbones.hf import Backbone
from modules.levi.small import NgramModel


class AdaptingLayer(nn.Module):
    """One adapting layer: LayerNorm, then linear (``hidden = 0``) or Linear-GELU-Dropout-Linear."""

    def __init__(self, in_dim: int, num_classes: int, hidden: int = 0, dropout: float = 0.1):
        super().__init__()
        head: nn.Module
        if hidden > 0:
            head = nn.Sequential(
                nn.Linear(in_dim, hidden),
                nn.GELU(),
                nn.Dropout(dropout),
                nn.Linear(hidden, num_classes),
            )
        else:
            head = nn.Linear(in_dim, num_classes)
        self.net = nn.Sequential(nn.LayerNorm(in_dim), head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class PretrainedLayers(nn.Module):
    """A live backbone's representations of chosen layers: ``[B, K, H]`` masked means of the
    hidden states ``layers`` (0 = embeddings, ``L`` = last), as the frozen cache stores them."""

    def __init__(self, backbone: Backbone, layers: list[int]) -> None:
        super().__init__()
        self.backbone, self.layers = backbone, list(layers)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        states = self.backbone(input_ids, attention_mask)
        return torch.stack([masked_mean(states[i], attention_mask) for i in self.layers], dim=1)


class LayerwiseEnsemble(nn.Module):
    """LEVI's head (Roh et al., ICML 2024): one adapting layer per pretrained layer over
    ``[h_l ; s]``, or a single one over ``s`` when no pretrained layer is used. ``forward`` returns
    every adapter's logits ``[B, A, C]``; :meth:`combine` is the final prediction."""

    def __init__(
        self,
        num_classes: int,
        num_layers: int,
        pretrained_dim: int,
        small: NgramModel | None = None,
        hidden: int = 0,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if num_layers == 0 and small is None:
            raise ValueError("LEVI needs pretrained layers, a small model, or both")
        self.small = small
        small_dim = small.dim if small is not None else 0
        in_dim = (pretrained_dim if num_layers else 0) + small_dim
        self.adapters = nn.ModuleList(
            AdaptingLayer(in_dim, num_classes, hidden, dropout) for _ in range(max(num_layers, 1))
        )
        self.num_layers = num_layers

    def forward(
        self, pretrained: torch.Tensor | None = None, ngrams: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``pretrained`` ``[B, K, H]`` (K = ``num_layers``), ``ngrams`` ``[B, M]`` → ``[B, A, C]``."""
        s = self.small(ngrams) if self.small is not None else None
        if self.num_layers == 0:
            return self.adapters[0](s).unsqueeze(1)
        if pretrained is None or pretrained.shape[1] != self.num_layers:
            raise ValueError(f"expected pretrained features of {self.num_layers} layers")
        outs = []
        for k, adapter in enumerate(self.adapters):
            x = pretrained[:, k] if s is None else torch.cat([pretrained[:, k], s], dim=-1)
            outs.append(adapter(x))
        return torch.stack(outs, dim=1)

    @staticmethod
    def combine(logits: torch.Tensor) -> torch.Tensor:
        """The final prediction: the mean of the adapters' logits ``[B, A, C]`` → ``[B, C]``."""
        return logits.mean(dim=1)
