"""``cfg.backbone`` → a loader of the backbone it names (source, attention, max length, dtype,
packing)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from omegaconf import DictConfig

from modules.backbones.hf import Backbone, load_backbone
from modules.backbones.packing import DEFAULT_PACKING


def backbone_source(node: Any) -> str:
    """``backbone.source``: a path or hub id, or a ``_target_`` node returning one."""
    from hydra.utils import instantiate

    return str(instantiate(node)) if isinstance(node, DictConfig) else str(node)


def backbone_factory(cfg: DictConfig) -> Callable[[], Backbone]:
    """A function that loads ``cfg.backbone`` when called (a cache hit never calls it)."""
    b = cfg.backbone

    def build() -> Backbone:
        return load_backbone(
            backbone_source(b.source),
            str(b.attention),
            int(b.max_length),
            str(b.get("dtype", "float32")),
            packing=str(b.get("packing", DEFAULT_PACKING)),
        )

    return build
