"""Prepacking (``modules/backbones/packing.py``) on real backbones: packed rows give every text the
states it has in a padded batch, for every layer a pooler reads and both attention modes."""

from __future__ import annotations

import pytest
import torch

from modules.backbones.encode import encode_features, token_ids
from modules.backbones.hf import load_backbone
from modules.backbones.packing import PACKINGS, block_mask_4d, first_fit_decreasing

TEXTS = [
    "a dog",
    "the quick brown fox jumps over the lazy dog near the river bank at dawn",
    "rain",
    "two cats sleep on a warm mat",
    "stock markets fell sharply on monday after the central bank raised rates",
    "hello world",
]


def test_first_fit_decreasing_fills_the_first_bin_with_room():
    assert first_fit_decreasing([5, 4, 3, 3, 2, 1], 8) == [[0, 2], [1, 3, 5], [4]]
    with pytest.raises(ValueError, match="capacity"):
        first_fit_decreasing([9], 8)


def test_block_mask_keeps_texts_apart():
    segments = torch.tensor([[1, 1, 2, 2, 0]])
    for attention in ("causal", "bidirectional"):
        allowed = (block_mask_4d(segments, attention, torch.float32)[0, 0] == 0).int().tolist()
        first = [[1, 1, 0, 0, 0], [1, 1, 0, 0, 0]]
        if attention == "causal":
            first = [[1, 0, 0, 0, 0], [1, 1, 0, 0, 0]]
        second = [[0, 0, r[0], r[1], 0] for r in first]
        assert allowed == first + second + [[0, 0, 0, 0, 1]]


def _per_text(backbone, packing: str) -> list[tuple[torch.Tensor, ...]]:
    out: list = [None] * len(TEXTS)
    with torch.no_grad():
        for rows, f in encode_features(backbone, TEXTS, batch_size=3, packing=packing):
            for j, r in enumerate(rows):
                tokens = f.tokens[j][f.mask[j].bool()]
                out[r] = (tokens, f.layer_last[j], f.layer_mean[j])
    return out


@pytest.mark.parametrize("attention", ["causal", "bidirectional"])
def test_prepacked_padded_and_sorted_states_agree(source, attention):
    backbone = load_backbone(source, attention, max_length=24)
    lengths = [len(i) for i in token_ids(backbone, TEXTS)]
    assert max(len(b) for b in first_fit_decreasing(lengths, 24)) >= 3  # rows really are shared
    padded, *others = (_per_text(backbone, p) for p in PACKINGS)
    for other in others:
        for k, (ref, got) in enumerate(zip(padded, other, strict=True)):
            assert ref[0].shape == got[0].shape == (lengths[k], backbone.hidden_size)
            for a, b in zip(ref, got, strict=True):  # tokens, per-layer last, per-layer mean
                # per layer: SmolLM2's residual stream has outlier features in the hundreds
                scale = a.abs().amax(dim=-1, keepdim=True).clamp(min=1.0)
                assert ((a - b).abs() / scale).max().item() < 1e-4


def test_padded_batch_run_packed_keeps_its_layout(source):
    """``Backbone.states`` (the exported sentence-transformers module's forward) under prepack."""
    backbone = load_backbone(source, "bidirectional", max_length=24)
    enc = backbone.tokenize(TEXTS)
    with torch.no_grad():
        backbone.packing = "sort"
        padded = backbone.states(enc["input_ids"], enc["attention_mask"])
        backbone.packing = "prepack"
        packed = backbone.states(enc["input_ids"], enc["attention_mask"])
    real = enc["attention_mask"].bool()
    assert len(packed) == backbone.num_layers + 1
    for a, b in zip(padded, packed, strict=True):
        a, b = a[real], b[real]
        scale = a.abs().amax(dim=-1, keepdim=True).clamp(min=1.0)
        assert ((a - b).abs() / scale).max().item() < 1e-4
    assert (packed[-1][~real] == 0).all()
