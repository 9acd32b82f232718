"""The fine-tuning regimes on the real SmolLM2 backbone: LoRA trains only its adapters (the
pooling_grid_lora preset's regime), frozen trains nothing."""

from __future__ import annotations

import torch

from modules.backbones.hf import load_backbone
from modules.backbones.regimes import apply_regime


def _one_step(backbone) -> dict[str, torch.Tensor]:
    before = {n: p.detach().clone() for n, p in backbone.named_parameters()}
    trainable = [p for p in backbone.parameters() if p.requires_grad]
    batch = backbone.tokenize(["a man plays a guitar", "the cat sleeps"])
    loss = backbone(batch["input_ids"], batch["attention_mask"])[-1].pow(2).mean()
    loss.backward()
    torch.optim.SGD(trainable, lr=1.0).step()
    return {n: not torch.equal(before[n], p.detach()) for n, p in backbone.named_parameters()}


def test_lora_on_smollm2_trains_adapters_only(smollm2_path):
    backbone = apply_regime(
        load_backbone(smollm2_path, "bidirectional", 8), "lora",
        {"r": 16, "lora_alpha": 32, "lora_dropout": 0.0},
    )
    changed = _one_step(backbone)
    lora_b = [n for n in changed if "lora_B" in n]
    assert lora_b and all(changed[n] for n in lora_b)  # B starts at zero and moves first
    assert not any(v for n, v in changed.items() if "lora_" not in n), "a base weight moved"
    assert any("mlp" in n for n in lora_b) and any("self_attn" in n for n in lora_b)
