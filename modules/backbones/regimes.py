"""Fine-tuning regimes of the backbone: ``frozen`` (features cached, see ``cache.py``), ``lora``
(peft LoRA; Hu et al., 2022; the paper's r 16, alpha 32, dropout 0.1 on the attention and MLP
projections) and ``full``."""

from __future__ import annotations

from typing import Any

from modules.backbones.hf import Backbone

REGIMES = ("frozen", "lora", "full")


def apply_regime(backbone: Backbone, regime: str, lora: dict[str, Any] | None = None) -> Backbone:
    """Set which backbone weights train: none, LoRA adapters only, or all."""
    if regime not in REGIMES:
        raise ValueError(f"finetune regime must be one of {REGIMES}, got {regime!r}")
    if regime != "frozen":
        backbone.source = None  # the weights will change: exports save them
    if regime == "frozen":
        backbone.model.requires_grad_(False)
    elif regime == "full":
        backbone.model.requires_grad_(True)
        backbone.model.train()
    else:
        from peft import LoraConfig, get_peft_model

        settings = dict(lora or {})
        targets = settings.pop("target_modules", "all-linear")
        if not isinstance(targets, str):
            targets = list(targets)
        backbone.model = get_peft_model(
            backbone.model, LoraConfig(target_modules=targets, **settings)
        )
        backbone.model.train()  # LoRA dropout active while fitting
    return backbone
