"""Export to a sentence-transformers folder and reload: same embeddings as ``encode``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from modules.backbones.hf import load_backbone
from modules.embedding.export import export_sentence_transformer
from modules.embedding.module import EmbeddingModule
from modules.embedding.poolers import build_pooler

TEXTS = ["A man is playing a guitar.", "Two dogs run in the snow.", "short", "The stock fell."]


FIT_TEXTS = ["A woman slices an onion.", "The market fell.", "Dogs run.", "A plane lands."] * 3


def _module(source: str, attention: str, pooler: str, normalize: str = "none") -> EmbeddingModule:
    backbone = load_backbone(source, attention, max_length=16)
    trainable = pooler in ("latent_attention", "multilayer")
    config = {"num_latents": 4, "num_heads": 2, "head_dim": 8} if trainable else {}
    if pooler == "multilayer":
        config["attention"] = attention
    module = EmbeddingModule(
        build_pooler(
            pooler, backbone.hidden_size, backbone.num_layers, normalize=normalize, **config
        ),
        backbone=backbone,
        head_dim=32,
    )
    module.fit_normalizer(FIT_TEXTS)
    with torch.no_grad():  # make the head non-trivial
        module.model.head.linear.weight.add_(torch.randn_like(module.model.head.linear.weight))
    return module


@pytest.mark.parametrize(
    ("which", "attention", "pooler", "normalize"),
    [
        ("smollm2", "bidirectional", "multilayer", "none"),
        ("smollm2", "causal", "multilayer", "zscore"),
        ("smollm2", "causal", "last_token", "whiten"),
        ("minilm", "causal", "latent_attention", "none"),
    ],
)
def test_export_reloads_with_same_embeddings(
    tmp_path, smollm2_path, minilm_path, which, attention, pooler, normalize
):
    """The exported folder reproduces ``encode``, feature normalization included."""
    from sentence_transformers import SentenceTransformer

    source = smollm2_path if which == "smollm2" else minilm_path
    module = _module(source, attention, pooler, normalize)
    expected = module.encode(TEXTS)
    path = export_sentence_transformer(module.model, tmp_path)
    loaded = SentenceTransformer(str(path), device="cpu", trust_remote_code=True)
    got = loaded.encode(TEXTS, convert_to_numpy=True, batch_size=2)
    np.testing.assert_allclose(got, expected, atol=1e-4)
    assert loaded[0].attention == attention
    assert loaded[1].pooler.normalizer.mode == normalize
    # the reloaded tokenizer still appends EOS (last-token pooling reads it)
    tok = loaded[0].tokenizer
    assert tok("hi")["input_ids"][-1] in {tok.eos_token_id, tok.sep_token_id}


def test_bidirectional_export_differs_from_causal(tmp_path, smollm2_path):
    """The attention mode survives export: the same weights under the other mode disagree."""
    from sentence_transformers import SentenceTransformer

    module = _module(smollm2_path, "bidirectional", "last_token")
    path = export_sentence_transformer(module.model, tmp_path)
    bidi = SentenceTransformer(str(path), device="cpu", trust_remote_code=True).encode(TEXTS)
    module.model.backbone.attention = "causal"
    assert not np.allclose(bidi, module.encode(TEXTS), atol=1e-3)


def test_frozen_export_hard_links_unchanged_weights(tmp_path, minilm_path):
    from pathlib import Path

    module = _module(minilm_path, "bidirectional", "mean")
    path = export_sentence_transformer(module.model, tmp_path)
    source = Path(minilm_path) / "model.safetensors"
    exported = path / "model.safetensors"
    assert exported.stat().st_size == source.stat().st_size
    same_fs = source.stat().st_dev == exported.stat().st_dev
    assert not same_fs or exported.stat().st_ino == source.stat().st_ino
