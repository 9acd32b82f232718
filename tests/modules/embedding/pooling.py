"""The poolers as the sweeps build them: one per file of ``conf/pooling/``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from modules.embedding.poolers import Pooler, build_pooler

CONF = Path(__file__).resolve().parents[3] / "conf" / "pooling"
NAMES = sorted(p.stem for p in CONF.glob("*.yaml"))
TRAINABLE = {"latent_attention", "multilayer"}


def pooling_config(name: str, attention: str = "causal") -> DictConfig:
    """``conf/pooling/<name>.yaml`` with its interpolations resolved as a composed config would
    (``${backbone.attention}``)."""
    root = OmegaConf.create({"backbone": {"attention": attention}})
    root.pooling = OmegaConf.load(CONF / f"{name}.yaml")
    return root.pooling


def make_pooler(name: str, hidden_size: int, num_layers: int, **overrides: Any) -> Pooler:
    """The ``name`` pooler at a tiny size (two heads of width 4 for the trainable ones)."""
    small = {"num_heads": 2, "head_dim": 4} if name in TRAINABLE else {}
    small |= {"groups": 4} if name == "ggem" else {}
    return build_pooler(pooling_config(name), hidden_size, num_layers, **{**small, **overrides})
