"""The LoRA path learns on CPU at tiny size: training SmolLM2's adapters (with a mean pooler and
the head) moves the STS dev score upwards on the pairs it trains on. The full LoRA grid
(pooling_grid_lora) is a GPU job; this proves its path works."""

from __future__ import annotations

import lightning as L
import pytest
import torch

from modules.backbones.hf import load_backbone
from modules.backbones.regimes import apply_regime
from modules.data.stsb import load_stsb, training_triplets
from modules.embedding.datamodule import TripletDataModule, stsb_dev_pairs
from modules.embedding.module import EmbeddingModule
from tests.modules.embedding.pooling import make_pooler

pytestmark = pytest.mark.slow


def test_lora_training_moves_the_sts_dev_score(smollm2_path):
    torch.manual_seed(0)
    dev = load_stsb("dev")
    pairs = stsb_dev_pairs(dev, 48, seed=0)
    scored = [p for p in dev if (p.sentence1, p.sentence2) in {(a, b) for a, b, _ in pairs}]
    data = TripletDataModule(training_triplets(scored, 3.0, 2.0, seed=0), (), pairs, batch_size=8)
    backbone = apply_regime(
        load_backbone(smollm2_path, "causal", max_length=24),
        "lora",
        {"r": 8, "lora_alpha": 16, "lora_dropout": 0.0, "target_modules": "all-linear"},
    )
    module = EmbeddingModule(
        make_pooler("mean", backbone.hidden_size, 0),
        backbone=backbone,
        optimizer=lambda params: torch.optim.AdamW(params, lr=2e-3),
    )
    before = module.sts_spearman(pairs)
    trainer = L.Trainer(
        accelerator="cpu", max_epochs=4, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
        limit_val_batches=0,
    )
    trainer.fit(module, datamodule=data)
    after = module.sts_spearman(pairs)
    assert after > before + 0.02, (before, after)
