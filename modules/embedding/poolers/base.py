"""The poolers' shared interface, ``forward(TokenFeatures) -> [B, D]`` L2-normalized, and the one
way to build one: a Hydra config (``_target_`` + kwargs, the files of ``conf/pooling/``) given to
:func:`build_pooler`, which remembers that config on the pooler (``spec``) so an exported model can
rebuild it with ``hydra.utils.instantiate``.

``normalize`` (``none | zscore | whiten``, ``normalize.py``) is fitted on the training texts by
:meth:`Pooler.fit_normalizer`; by default it acts on the pooled vector, the multi-layer pooler
applies it to each layer's vector.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch
from omegaconf import OmegaConf
from torch import nn
from torch.nn import functional as F

from modules.backbones.features import TokenFeatures
from modules.embedding.normalize import FeatureNormalizer

SIZES = ("hidden_size", "num_layers")  # the backbone's, given at build time, never in a spec


def build_pooler(
    config: Mapping[str, Any], hidden_size: int, num_layers: int = 0, **overrides: Any
) -> Pooler:
    """The pooler ``config`` names (``_target_`` + kwargs, ``overrides`` win) for a backbone of
    ``hidden_size`` and ``num_layers`` layers; its resolved config is kept as ``pooler.spec``."""
    from hydra.utils import get_class, instantiate

    given = OmegaConf.to_container(config, resolve=True) if OmegaConf.is_config(config) else config
    spec = {k: v for k, v in {**given, **overrides}.items() if k not in SIZES}
    target = spec.get("_target_")
    nested = [k for k, v in spec.items() if k != "_target_" and _names_a_target(v)]
    if nested:  # a pooler takes plain values: nothing inside a spec is ever instantiated
        raise TypeError(f"a pooler config holds plain values, but {', '.join(nested)} names a _target_")
    try:
        cls = get_class(target) if isinstance(target, str) else None
    except (ImportError, ValueError):  # no such object, or not a class
        cls = None
    if not (isinstance(cls, type) and issubclass(cls, Pooler)):
        raise TypeError(f"a pooler config names a Pooler class as _target_, got {target!r}")
    pooler = instantiate(spec, hidden_size=hidden_size, num_layers=num_layers, _recursive_=False)
    pooler.spec = spec
    return pooler


def _names_a_target(value: Any) -> bool:
    if isinstance(value, Mapping):
        return "_target_" in value or any(_names_a_target(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_names_a_target(v) for v in value)
    return False


class Pooler(nn.Module):
    """Base class: subclasses implement ``pool`` (unnormalized); ``forward`` applies the feature
    normalization to the pooled vector, then L2-normalizes. A subclass that normalizes its inputs
    instead (multi-layer pooling) sets ``normalizes_inputs`` and overrides
    :meth:`normalization_inputs` and :meth:`normalization_groups`."""

    normalizes_inputs = False
    spec: dict[str, Any] | None = None  # the config it was built from (set by build_pooler)

    def __init__(self, hidden_size: int, num_layers: int = 0, normalize: str = "none") -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.normalizer = FeatureNormalizer(normalize, self.normalization_groups(), hidden_size)

    @property
    def output_dim(self) -> int:
        return self.hidden_size

    def normalization_groups(self) -> int:
        """How many vectors per text the normalizer sees (each with its own statistics)."""
        return 1

    def normalization_inputs(self, features: TokenFeatures) -> torch.Tensor:
        """The vectors the normalizer acts on, ``[B, groups, D]``: the pooled vector."""
        return self.pool(features).unsqueeze(1)

    @torch.no_grad()
    def fit_normalizer(self, batches: Iterable[TokenFeatures]) -> None:
        """Fit the feature normalization on the features of the training texts."""
        if self.normalizer.mode == "none":
            return
        was_training = self.training
        self.eval()
        self.normalizer.fit(torch.cat([self.normalization_inputs(f) for f in batches]))
        self.train(was_training)

    def pool(self, features: TokenFeatures) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, features: TokenFeatures) -> torch.Tensor:
        pooled = self.pool(features)
        if not self.normalizes_inputs:
            pooled = self.normalizer(pooled.unsqueeze(1)).squeeze(1)
        return F.normalize(pooled, dim=-1)
