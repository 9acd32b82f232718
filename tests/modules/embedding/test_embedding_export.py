"""Export to a sentence-transformers folder and reload: same embeddings as ``encode``; every
pooler of ``conf/pooling/`` is rebuilt from its stored config; an old-format folder is refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from modules.backbones.features import TokenFeatures
from modules.backbones.hf import load_backbone
from modules.embedding.export import export_sentence_transformer, load_exported
from modules.embedding.module import EmbeddingModule
from modules.embedding.st_modules import PoolerHead
from tests.modules.embedding.pooling import NAMES, make_pooler

TEXTS = ["A man is playing a guitar.", "Two dogs run in the snow.", "short", "The stock fell."]


FIT_TEXTS = ["A woman slices an onion.", "The market fell.", "Dogs run.", "A plane lands."] * 3


def _module(source: str, attention: str, pooler: str, normalize: str = "none") -> EmbeddingModule:
    backbone = load_backbone(source, attention, max_length=16)
    extra = {"attention": attention} if pooler == "multilayer" else {}
    module = EmbeddingModule(
        make_pooler(pooler, backbone.hidden_size, backbone.num_layers, normalize=normalize, **extra),
        backbone=backbone,
        head_dim=32,
    )
    module.fit_normalizer(FIT_TEXTS)
    with torch.no_grad():  # make the head non-trivial
        module.model.head.linear.weight.add_(torch.randn_like(module.model.head.linear.weight))
    return module


@pytest.mark.parametrize("name", NAMES)
def test_every_pooler_round_trips_through_its_stored_config(tmp_path, name):
    """Saved and loaded as the exported folder's second module: the same class, config and
    output (the trained weights and the fitted normalization included)."""
    h, layers = 16, 3
    pooler = make_pooler(name, h, layers, normalize="zscore")
    states = [torch.randn(4, 5, h) for _ in range(layers + 1)]
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 1, 1, 1, 0], [1, 0, 0, 0, 0]])
    pooler.fit_normalizer([TokenFeatures.from_hidden_states(states, mask)])
    head = PoolerHead(pooler.spec, h, layers, head_dim=8)
    head.pooler.load_state_dict(pooler.state_dict())
    with torch.no_grad():
        for p in head.pooler.parameters():
            p.add_(0.1 * torch.randn_like(p))  # trained weights, not the initial ones
    head.eval().save(str(tmp_path))
    loaded = PoolerHead.load(str(tmp_path)).eval()
    assert type(loaded.pooler) is type(pooler) and loaded.pooler.spec == pooler.spec
    features = {"all_layer_embeddings": states, "attention_mask": mask}
    expected = head(dict(features))["sentence_embedding"]
    torch.testing.assert_close(loaded(dict(features))["sentence_embedding"], expected)


def test_a_folder_exported_in_the_old_format_is_refused(tmp_path, minilm_path):
    """Folders that named their pooler in the removed registry get one clear error."""
    import json

    path = export_sentence_transformer(_module(minilm_path, "bidirectional", "mean").model, tmp_path)
    [config] = [p for p in path.rglob("config.json") if "pooler_spec" in p.read_text()]
    old = json.loads(config.read_text())
    old["pooler_name"], old["pooler_config"] = "mean", {"normalize": "none"}
    del old["pooler_spec"]
    config.write_text(json.dumps(old))
    with pytest.raises(ValueError, match="older version .*'mean'.* export it again"):
        load_exported(path)


def test_a_folder_naming_a_class_outside_the_poolers_is_refused(tmp_path, minilm_path):
    """A saved folder is data: its pooler_spec may only name a pooler of this package."""
    import json

    path = export_sentence_transformer(_module(minilm_path, "bidirectional", "mean").model, tmp_path)
    [config] = [p for p in path.rglob("config.json") if "pooler_spec" in p.read_text()]
    changed = json.loads(config.read_text())
    changed["pooler_spec"]["_target_"] = "torch.nn.Linear"
    config.write_text(json.dumps(changed))
    with pytest.raises(ValueError, match="names 'torch.nn.Linear', not a pooler of"):
        load_exported(path)


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
