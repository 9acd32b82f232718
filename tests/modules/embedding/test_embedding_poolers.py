"""Every pooler of ``conf/pooling/``: built from its file, shape, unit norm, padding invariance
(left and right), gradients; a config that names no pooler is refused."""

from __future__ import annotations

import pytest
import torch

from modules.backbones.features import TokenFeatures
from modules.embedding.poolers import build_pooler
from tests.modules.embedding.pooling import NAMES, make_pooler, pooling_config

H, L = 16, 3


def make(name: str, **extra):
    return make_pooler(name, H, L, **extra)


def hidden_states(batch: int, t: int) -> list[torch.Tensor]:
    return [torch.randn(batch, t, H) for _ in range(L + 1)]


def pad(
    states: list[torch.Tensor], extra: int, left: bool
) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Add ``extra`` random pad positions; returns padded states and the mask."""
    b, t, _ = states[0].shape
    junk = [torch.randn(b, extra, H) * 100 for _ in states]
    padded = [
        torch.cat([j, s] if left else [s, j], dim=1) for s, j in zip(states, junk, strict=True)
    ]
    ones, zeros = torch.ones(b, t, dtype=torch.long), torch.zeros(b, extra, dtype=torch.long)
    return padded, torch.cat([zeros, ones] if left else [ones, zeros], dim=1)


def test_every_paper_pooler_has_a_config():
    assert set(NAMES) >= {
        "mean",
        "first",
        "last_token",
        "weighted_mean",
        "latent_attention",
        "multilayer",
        "gem",
        "ggem",
    }


@pytest.mark.parametrize("name", NAMES)
def test_the_pooler_keeps_the_config_it_was_built_from(name):
    pooler = build_pooler(pooling_config(name, "bidirectional"), H, L, normalize="zscore")
    assert pooler.spec["_target_"] == pooling_config(name)._target_
    assert pooler.spec["normalize"] == "zscore" and "hidden_size" not in pooler.spec
    if name == "multilayer":
        assert pooler.spec["attention"] == "bidirectional" == pooler.attention_mode


@pytest.mark.parametrize(
    "target", ["torch.nn.Linear", "torch.nn.functional.normalize", "modules.nothing.Here", None]
)
def test_a_config_that_names_no_pooler_is_refused(target):
    with pytest.raises(TypeError, match="names a Pooler class"):
        build_pooler({"_target_": target} if target else {}, H, L)


def test_a_spec_never_instantiates_what_it_holds(tmp_path):
    marker = tmp_path / "ran"
    hostile = {"_target_": "pathlib.Path.touch", "self": str(marker)}
    with pytest.raises(TypeError, match="plain values, but normalize names a _target_"):
        build_pooler({"_target_": pooling_config("mean")._target_, "normalize": hostile}, H, L)
    assert not marker.exists()


@pytest.mark.parametrize("name", NAMES)
def test_shape_and_unit_norm(name):
    pooler = make(name)
    states = hidden_states(3, 5)
    out = pooler(TokenFeatures.from_hidden_states(states, torch.ones(3, 5, dtype=torch.long)))
    assert out.shape == (3, pooler.output_dim)
    assert torch.allclose(out.norm(dim=-1), torch.ones(3), atol=1e-5)


@pytest.mark.parametrize("left", [False, True], ids=["right_pad", "left_pad"])
@pytest.mark.parametrize("name", NAMES)
def test_pad_tokens_never_change_output(name, left):
    pooler = make(name).eval()
    states = hidden_states(2, 4)
    reference = pooler(TokenFeatures.from_hidden_states(states, torch.ones(2, 4, dtype=torch.long)))
    padded, mask = pad(states, 3, left)
    out = pooler(TokenFeatures.from_hidden_states(padded, mask))
    assert torch.allclose(out, reference, atol=1e-5)


def test_first_token_under_left_padding():
    states = hidden_states(1, 4)
    padded, mask = pad(states, 2, left=True)
    out = make("first")(TokenFeatures.from_hidden_states(padded, mask))
    assert torch.allclose(out[0], torch.nn.functional.normalize(states[-1][0, 0], dim=0), atol=1e-6)


def test_last_token_reads_last_non_pad_token():
    states = hidden_states(1, 4)
    for left in (False, True):
        padded, mask = pad(states, 2, left)
        out = make("last_token")(TokenFeatures.from_hidden_states(padded, mask))
        expected = torch.nn.functional.normalize(states[-1][0, -1], dim=0)
        assert torch.allclose(out[0], expected, atol=1e-6)


def test_gem_with_p_one_is_mean():
    states = hidden_states(2, 5)
    feats = TokenFeatures.from_hidden_states(states, torch.ones(2, 5, dtype=torch.long))
    assert torch.allclose(make("gem", p=1.0)(feats), make("mean")(feats), atol=1e-5)
    assert torch.allclose(make("ggem", p=1.0)(feats), make("mean")(feats), atol=1e-5)


def test_multilayer_reads_layer_vectors_by_attention():
    states = hidden_states(2, 5)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    feats = TokenFeatures.from_hidden_states(states, mask)
    torch.manual_seed(0)
    causal = make("multilayer", attention="causal")
    torch.manual_seed(0)
    bidi = make("multilayer", attention="bidirectional")
    assert not torch.allclose(causal(feats), bidi(feats))
    changed = TokenFeatures(feats.tokens, feats.mask, feats.layer_last, feats.layer_mean * 2 + 1)
    assert torch.allclose(causal(changed), causal(feats))  # causal reads the EOS states only


@pytest.mark.parametrize("name", NAMES)
def test_gradients_reach_every_trainable_parameter(name):
    pooler = make(name)
    params = [p for p in pooler.parameters() if p.requires_grad]
    if not params:
        pytest.skip(f"{name} has no parameters (trained through the shared projection head)")
    states = [s.requires_grad_() for s in hidden_states(3, 5)]
    out = pooler(TokenFeatures.from_hidden_states(states, torch.ones(3, 5, dtype=torch.long)))
    (out * torch.randn_like(out)).sum().backward()
    for p in params:
        assert p.grad is not None and p.grad.abs().sum() > 0
