"""The attention switch on real backbones, in padded batches (SmolLM2 decoder, MiniLM encoder)."""

from __future__ import annotations

import pytest
import torch

from modules.backbones.hf import attention_mask_4d, load_backbone

TEXTS_A = ["the cat sat on the mat today", "a dog"]
TEXTS_B = ["the cat sat on the mat yesterday", "a dog"]  # only a later token differs in row 0


def _last_layer(backbone, texts):
    enc = backbone.tokenize(texts)
    with torch.no_grad():
        return backbone(enc["input_ids"], enc["attention_mask"])[-1], enc["attention_mask"]


@pytest.mark.parametrize("attention", ["causal", "bidirectional"])
def test_later_token_changes_earlier_state_only_when_bidirectional(source, attention):
    backbone = load_backbone(source, attention, max_length=16)
    a, mask = _last_layer(backbone, TEXTS_A)
    b, _ = _last_layer(backbone, TEXTS_B)
    assert mask[1].sum() < mask[0].sum()  # the batch is padded
    early = (a[0, 1] - b[0, 1]).abs().max().item()
    if attention == "bidirectional":
        assert early > 1e-3
    else:
        assert early < 1e-5
    # pad tokens change nothing: the short row alone equals the short row in the padded batch
    alone, alone_mask = _last_layer(backbone, TEXTS_A[1:])
    n = int(alone_mask.sum())
    scale = alone[0, :n].abs().max().item()
    assert torch.allclose(alone[0, :n], a[1, :n], atol=1e-4 * max(scale, 1.0))


def test_left_padding_is_equivalent(smollm2_path):
    backbone = load_backbone(smollm2_path, "bidirectional", max_length=16)
    right, rmask = _last_layer(backbone, TEXTS_A)
    backbone.tokenizer.padding_side = "left"
    left, lmask = _last_layer(backbone, TEXTS_A)
    n = int(rmask[1].sum())
    scale = right[1, :n].abs().max().item()
    assert torch.allclose(right[1, :n], left[1, -n:], atol=1e-4 * max(scale, 1.0))


def test_is_causal_flag_alone_stays_causal_on_padded_batch(smollm2_path):
    """Why the explicit 4D mask: flipping is_causal with a 2D padding mask is not bidirectional."""
    backbone = load_backbone(smollm2_path, "bidirectional", max_length=16)
    outs = []
    for texts in (TEXTS_A, TEXTS_B):
        enc = backbone.tokenize(texts)
        with torch.no_grad():
            outs.append(backbone.model(**enc).last_hidden_state)
    assert (outs[0][0, 1] - outs[1][0, 1]).abs().max().item() < 1e-5


def test_tokenizer_appends_eos_and_pads(smollm2_path):
    backbone = load_backbone(smollm2_path, "causal", max_length=8)
    tok = backbone.tokenizer
    assert tok.pad_token is not None
    ids = tok("hello world")["input_ids"]
    assert ids[-1] == tok.eos_token_id
    long = backbone.tokenize(["word " * 50])["input_ids"][0]
    assert len(long) == 8 and long[-1] == tok.eos_token_id


def test_mask_4d_rows():
    mask = torch.tensor([[1, 1, 0]])
    causal = attention_mask_4d(mask, "causal", torch.float32)[0, 0] == 0
    bidi = attention_mask_4d(mask, "bidirectional", torch.float32)[0, 0] == 0
    # a pad query may read earlier keys (its output is ignored); no real query reads a pad key
    assert causal.tolist() == [[True, False, False], [True, True, False], [True, True, True]]
    assert bidi.tolist() == [[True, True, False], [True, True, False], [True, True, True]]
