"""The frozen feature cache: equals live features, shards merge into the same cache, computed
once under concurrent starts, and built without drawing from the trial's random streams."""

from __future__ import annotations

import threading

import torch

from modules.backbones import token_cache
from modules.backbones.features import TokenFeatures
from modules.backbones.hf import load_backbone
from modules.backbones.token_cache import cache_key, load_or_build

TEXTS = ["A man is playing a guitar.", "short", "Two dogs run through the deep snow today.", "ok"]


def test_cache_matches_live_features(tmp_path, minilm_path):
    backbone = load_backbone(minilm_path, "causal", max_length=16)
    cache = load_or_build(tmp_path, "k", TEXTS, lambda: backbone, batch_size=3)
    enc = backbone.tokenize(TEXTS[:2])
    with torch.no_grad():
        live = TokenFeatures.from_hidden_states(
            backbone(enc["input_ids"], enc["attention_mask"]), enc["attention_mask"]
        )
    cached = cache.lookup(TEXTS[:2])
    assert cached.tokens.shape == live.tokens.shape
    assert torch.equal(cached.mask.bool(), live.mask.bool())
    keep = live.mask.bool()
    assert torch.allclose(cached.tokens[keep], live.tokens[keep], atol=2e-3, rtol=2e-3)
    assert torch.allclose(cached.layer_last, live.layer_last, atol=2e-3, rtol=2e-3)
    assert torch.allclose(cached.layer_mean, live.layer_mean, atol=2e-3, rtol=2e-3)


def test_shards_merge_into_the_same_cache(tmp_path, minilm_path):
    backbone = load_backbone(minilm_path, "causal", max_length=16)
    whole = load_or_build(tmp_path / "one", "k", TEXTS, lambda: backbone, batch_size=3)
    sharded = load_or_build(tmp_path / "two", "k", TEXTS, lambda: backbone, 3, shards=3)
    assert sorted(sharded.texts) == sorted(whole.texts)
    a, b = whole.lookup(TEXTS), sharded.lookup(TEXTS)
    assert torch.equal(a.mask, b.mask)
    # shards batch other texts together (other padding): equal up to float16 rounding
    for x, y in [(a.tokens, b.tokens), (a.layer_last, b.layer_last), (a.layer_mean, b.layer_mean)]:
        assert torch.allclose(x, y, atol=2e-3, rtol=2e-3)
    assert [p.name for p in (tmp_path / "two").glob("*shard*.pt")] == []


def test_concurrent_starts_compute_once(tmp_path, minilm_path):
    backbone = load_backbone(minilm_path, "bidirectional", max_length=16)
    built = []

    def factory():
        built.append(1)
        return backbone

    key = cache_key("minilm_l6", "bidirectional", 16, TEXTS)
    results = []
    threads = [
        threading.Thread(
            target=lambda: results.append(load_or_build(tmp_path, key, TEXTS, factory, 2, 2))
        )
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 1 <= len(built) <= 2 and len(results) == 3  # at most one backbone per shard
    assert all(sorted(r.texts) == sorted(TEXTS) for r in results)


def test_key_depends_on_attention_and_texts():
    a = cache_key("m", "causal", 16, TEXTS)
    assert a == cache_key("m", "causal", 16, list(reversed(TEXTS)))
    assert a != cache_key("m", "bidirectional", 16, TEXTS)
    assert a != cache_key("m", "causal", 16, TEXTS[:2])


def test_a_new_cache_encodes_only_texts_no_older_cache_holds(tmp_path, minilm_path, monkeypatch):
    backbone = load_backbone(minilm_path, "causal", max_length=16)
    old_key, new_key = (cache_key("minilm_l6", "causal", 16, t) for t in (TEXTS[:3], TEXTS))
    old = load_or_build(tmp_path, old_key, TEXTS[:3], lambda: backbone, batch_size=3)
    encoded = []
    compute = token_cache.compute_features

    def recording(backbone, texts, *args, **kwargs):
        encoded.extend(texts)
        return compute(backbone, texts, *args, **kwargs)

    monkeypatch.setattr(token_cache, "compute_features", recording)
    new = load_or_build(tmp_path, new_key, TEXTS, lambda: backbone, batch_size=3)
    assert encoded == [TEXTS[3]]
    a, b = old.lookup(TEXTS[:3]), new.lookup(TEXTS[:3])
    for x, y in [(a.tokens, b.tokens), (a.layer_last, b.layer_last), (a.layer_mean, b.layer_mean)]:
        assert torch.equal(x, y)
    fresh = load_or_build(tmp_path / "cold", new_key, TEXTS, lambda: load_backbone(
        minilm_path, "causal", max_length=16), batch_size=3)
    assert torch.allclose(new.lookup(TEXTS).tokens, fresh.lookup(TEXTS).tokens, atol=2e-3, rtol=2e-3)


def test_building_the_cache_leaves_a_seeded_trial_s_random_stream_as_it_was(tmp_path, minilm_path):
    """Loading a backbone draws from torch's generator (weights are initialized, then loaded): a
    trial that builds the cache must then train the same model as one that found it."""
    from lightning import seed_everything

    def draws() -> tuple:
        import random

        import numpy as np

        return torch.rand(3).tolist(), np.random.rand(2).tolist(), random.random()

    def factory():
        torch.rand(100)  # as a model's weight initialization does
        return load_backbone(minilm_path, "causal", max_length=16)

    seed_everything(0, verbose=False)
    load_or_build(tmp_path, "built", TEXTS, factory, batch_size=3)
    after_building = draws()
    seed_everything(0, verbose=False)
    load_or_build(tmp_path, "built", TEXTS, factory, batch_size=3)
    after_loading = draws()
    assert after_building == after_loading
