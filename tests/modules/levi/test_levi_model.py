"""LEVI's network and its switches: which layers, frozen / LoRA, the small model, every adapter
predicting, the shared loss reaching every part."""

from __future__ import annotations

import functools

import pytest
import torch

from modules.backbones.features import masked_mean
from modules.backbones.hf import load_backbone
from modules.backbones.regimes import apply_regime
from modules.levi.method import LeviMethod
from modules.levi.model import LayerwiseEnsemble, PretrainedLayers
from modules.levi.module import LeviModule, predict
from modules.levi.small import NgramModel, encode_ngrams, ngram_ids

TEXTS = ["the space shuttle launch", "a new graphics card driver", "hockey playoffs tonight"]


def test_ngram_ids_are_stable_hashed_unigrams_and_bigrams():
    ids = ngram_ids("a b c", n=2, buckets=100)
    assert len(ids) == 3 + 2 and all(1 <= i < 100 for i in ids)
    assert ids == ngram_ids("a b c", n=2, buckets=100)
    assert ngram_ids("a b", n=1, buckets=100) == ids[:2]
    batch = encode_ngrams(["a b c", "", "x"], n=2, buckets=100)
    assert batch.shape == (3, 5) and batch[1].eq(0).all() and batch[2, 1:].eq(0).all()


def test_small_model_ignores_padding():
    small = NgramModel(buckets=50, embed_dim=8, dim=4)
    ids = small.encode(["a b", "a b c d"])
    out = small(ids)
    assert out.shape == (2, 4)
    alone = small(small.encode(["a b"]))
    torch.testing.assert_close(out[0], alone[0])


@pytest.mark.parametrize(
    ("layers", "with_small", "adapters"), [(3, True, 3), (1, False, 1), (0, True, 1), (2, False, 2)]
)
def test_every_adapter_predicts(layers, with_small, adapters):
    small = NgramModel(buckets=50, embed_dim=8, dim=4) if with_small else None
    net = LayerwiseEnsemble(
        num_classes=5, num_layers=layers, pretrained_dim=6, small=small, hidden=7
    )
    pre = torch.randn(2, layers, 6) if layers else None
    ngrams = small.encode(TEXTS[:2]) if small is not None else None
    logits = net(pre, ngrams)
    assert logits.shape == (2, adapters, 5)
    torch.testing.assert_close(net.combine(logits), logits.mean(dim=1))
    # the shared loss on the combined prediction reaches every adapter (and the small model)
    torch.nn.functional.cross_entropy(net.combine(logits), torch.tensor([0, 1])).backward()
    for adapter in net.adapters:
        assert adapter.net[1][0].weight.grad.abs().sum() > 0
    if small is not None:
        assert small.embed.weight.grad.abs().sum() > 0


def test_ensemble_refuses_nothing_and_wrong_layer_counts():
    with pytest.raises(ValueError, match="needs pretrained layers"):
        LayerwiseEnsemble(3, 0, 6, None)
    net = LayerwiseEnsemble(3, 2, 6, None)
    with pytest.raises(ValueError, match="2 layers"):
        net(torch.randn(2, 3, 6))


def test_pretrained_layers_are_masked_means_of_the_chosen_hidden_states(tiny_bert):
    backbone = load_backbone(tiny_bert, attention="bidirectional", max_length=16)
    enc = backbone.tokenize(TEXTS)
    out = PretrainedLayers(backbone, [1, 3])(enc["input_ids"], enc["attention_mask"])
    assert out.shape == (3, 2, 16)
    with torch.no_grad():
        states = backbone(enc["input_ids"], enc["attention_mask"])
    torch.testing.assert_close(out[:, 1], masked_mean(states[3], enc["attention_mask"]))
    torch.testing.assert_close(out[:, 0], masked_mean(states[1], enc["attention_mask"]))


def _fit_steps(module: LeviModule, batch: dict, steps: int = 3) -> None:
    optimizer = module.configure_optimizers()
    module.train()
    for _ in range(steps):
        optimizer.zero_grad()
        module.loss(module(batch), batch["label"]).backward()
        optimizer.step()


@pytest.mark.parametrize("regime", ["frozen", "lora"])
def test_frozen_and_lora_switches(tiny_bert, regime):
    backbone = apply_regime(
        load_backbone(tiny_bert, attention="bidirectional", max_length=16),
        regime,
        {"r": 2, "lora_alpha": 4, "lora_dropout": 0.0, "target_modules": "all-linear"},
    )
    before = {n: p.detach().clone() for n, p in backbone.model.named_parameters()}
    small = NgramModel(buckets=50, embed_dim=8, dim=4)
    net = LayerwiseEnsemble(3, 2, 16, small, hidden=8)
    module = LeviModule(
        net,
        functools.partial(torch.optim.AdamW, lr=1e-2),
        PretrainedLayers(backbone, [2, 3]),
        backbone_lr=1e-2,
        aux_weight=0.5,
    )
    enc = backbone.tokenize(TEXTS)
    batch = {**enc, "ngrams": small.encode(TEXTS), "label": torch.tensor([0, 1, 2])}
    _fit_steps(module, batch)
    changed = {n for n, p in backbone.model.named_parameters() if not torch.equal(p, before[n])}
    groups = module.configure_optimizers().param_groups
    if regime == "frozen":
        assert not changed and len(groups) == 1
    else:
        assert changed and all("lora_" in n for n in changed) and len(groups) == 2
    assert predict(module, [batch]).shape == (3,)


def test_shared_loss_learns_a_separable_toy_task():
    torch.manual_seed(0)
    labels = torch.arange(4).repeat(8)
    pre = torch.randn(32, 3, 6) + torch.nn.functional.one_hot(labels, 6)[:, None, :] * 3
    net = LayerwiseEnsemble(4, 3, 6, None, hidden=16)
    module = LeviModule(net, functools.partial(torch.optim.AdamW, lr=3e-2))
    batch = {"pretrained": pre, "label": labels}
    start = module.loss(module(batch), labels).item()
    _fit_steps(module, batch, steps=30)
    assert module.loss(module(batch), labels).item() < start / 4
    assert (predict(module, [batch]) == labels.numpy()).mean() == 1.0


def test_method_settings_are_checked():
    with pytest.raises(ValueError, match=r"\[7\] out of range"):
        LeviMethod(layers=[2, 7]).check(6)
    with pytest.raises(ValueError, match="regime"):
        LeviMethod(regime="half", layers=[1]).check(6)
    with pytest.raises(ValueError, match="no pretrained layer"):
        LeviMethod(layers=[]).check(6)
    assert LeviMethod(regime="lora", layers=[0, 6]).check(6) == [0, 6]
