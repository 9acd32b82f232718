"""The embedding LightningModule over a frozen feature cache: a pooler with nothing to train is
pooled once per text, and gives the same embeddings and gradients as pooling every step."""

from __future__ import annotations

import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from modules.backbones.hf import load_backbone
from modules.backbones.token_cache import load_or_build
from modules.embedding.module import EmbeddingModule
from tests.modules.embedding.conftest import ROOT

TEXTS = ["A man is playing a guitar.", "short", "Two dogs run through the deep snow today.", "ok"]


def _module(tmp_path, minilm_path, pooling: str, normalize: str) -> EmbeddingModule:
    backbone = load_backbone(minilm_path, "bidirectional", max_length=16)
    cache = load_or_build(tmp_path, "k", TEXTS, lambda: backbone, batch_size=3)
    node = OmegaConf.load(ROOT / "conf" / "pooling" / f"{pooling}.yaml")
    node.normalize = normalize
    pooler = instantiate(node, hidden_size=cache.hidden_size, num_layers=cache.num_layers)
    module = EmbeddingModule(pooler, cache=cache, encode_batch_size=3)
    module.fit_normalizer(TEXTS)
    return module


def test_fixed_pooler_embeds_and_trains_as_pooling_every_step(tmp_path, minilm_path):
    module = _module(tmp_path, minilm_path, "mean", "zscore")
    assert module.pooled_is_fixed
    with torch.no_grad():
        module.model.head.linear.weight.add_(0.01 * torch.randn_like(module.model.head.linear.weight))
    every_step = module.model.embed(module.features(TEXTS[::-1]))
    once = module.embed(TEXTS[::-1])
    assert torch.allclose(once, every_step, atol=1e-6)

    once.sum().backward()
    grad_once = module.model.head.linear.weight.grad.clone()
    module.zero_grad()
    module.model.embed(module.features(TEXTS[::-1])).sum().backward()
    assert torch.allclose(grad_once, module.model.head.linear.weight.grad, atol=1e-5)


def test_refitting_the_normalizer_forgets_pooled_vectors(tmp_path, minilm_path):
    module = _module(tmp_path, minilm_path, "mean", "zscore")
    before = module.embed(TEXTS).detach()
    module.fit_normalizer(TEXTS[:3])
    after = module.embed(TEXTS).detach()
    assert torch.allclose(after, module.model.embed(module.features(TEXTS)).detach(), atol=1e-6)
    assert not torch.allclose(before, after, atol=1e-4)


def test_a_pooler_with_parameters_is_pooled_every_step(tmp_path, minilm_path):
    assert not _module(tmp_path, minilm_path, "gem", "none").pooled_is_fixed
