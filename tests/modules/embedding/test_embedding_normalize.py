"""Feature normalization: fitted statistics, per-layer groups, and the poolers that use it."""

from __future__ import annotations

import pytest
import torch

from modules.backbones.features import TokenFeatures
from modules.embedding.normalize import FeatureNormalizer
from tests.modules.embedding.pooling import NAMES, make_pooler

H, L = 8, 3


def anisotropic(n: int, groups: int = 1) -> torch.Tensor:
    """Vectors with one outlier dimension (large offset and scale) and correlated dimensions."""
    x = torch.randn(n, groups, H) @ (torch.eye(H) + 0.5 * torch.randn(H, H))
    x[..., 0] = 50.0 + 30.0 * x[..., 0]
    return x


def features(batch: int = 16, t: int = 5) -> TokenFeatures:
    states = [torch.randn(batch, t, H) + 3 * torch.randn(H) for _ in range(L + 1)]
    return TokenFeatures.from_hidden_states(states, torch.ones(batch, t, dtype=torch.long))


def test_zscore_gives_zero_mean_unit_std_per_group():
    x = anisotropic(400, groups=2)
    norm = FeatureNormalizer("zscore", groups=2, dim=H)
    norm.fit(x)
    y = norm(x)
    assert torch.allclose(y.mean(0), torch.zeros(2, H), atol=1e-4)
    assert torch.allclose(y.std(0), torch.ones(2, H), atol=1e-3)


def test_whiten_gives_identity_covariance_and_keeps_groups_apart():
    x = anisotropic(600, groups=2)
    x[:, 1] *= 10  # the second group has other statistics
    norm = FeatureNormalizer("whiten", groups=2, dim=H, eps=1e-9)  # no shrinkage
    norm.fit(x)
    y = norm(x).double()
    for g in range(2):
        centred = y[:, g] - y[:, g].mean(0)
        cov = centred.T @ centred / (len(y) - 1)
        assert torch.allclose(cov, torch.eye(H, dtype=cov.dtype), atol=1e-3)


def test_none_is_the_identity_and_has_no_state():
    norm = FeatureNormalizer("none", groups=1, dim=H)
    x = anisotropic(10)
    norm.fit(x)
    assert torch.equal(norm(x), x) and not list(norm.state_dict())


def test_unknown_mode_and_wrong_shape_fail():
    with pytest.raises(ValueError, match="normalize must be one of"):
        FeatureNormalizer("pca")
    with pytest.raises(ValueError, match=r"expected \[N, 2, 8\]"):
        FeatureNormalizer("zscore", groups=2, dim=H).fit(anisotropic(10))


@pytest.mark.parametrize("mode", ["zscore", "whiten"])
@pytest.mark.parametrize("name", NAMES)
def test_every_pooler_fits_and_applies_normalization(name, mode):
    pooler = make_pooler(name, H, L, normalize=mode)
    feats = features()
    before = pooler(feats)
    pooler.fit_normalizer([feats])
    after = pooler(feats)
    assert after.shape == before.shape and not torch.allclose(after, before, atol=1e-3)
    assert torch.allclose(after.norm(dim=-1), torch.ones(len(after)), atol=1e-5)
    assert pooler.normalizer.mode == pooler.spec["normalize"] == mode
    assert {"normalizer.mean", "normalizer.transform"} <= set(pooler.state_dict())


def test_pooled_vector_is_normalized_for_single_vector_poolers():
    pooler = make_pooler("mean", H, 0, normalize="zscore")
    feats = features(64)
    pooler.fit_normalizer([feats])
    pooled = pooler.normalizer(pooler.pool(feats).unsqueeze(1)).squeeze(1)
    assert torch.allclose(pooled.mean(0), torch.zeros(H), atol=1e-4)


def test_multilayer_normalizes_each_layer_and_skips_the_embedding_layer():
    pooler = make_pooler("multilayer", H, L, normalize="zscore").eval()
    feats = features(64)
    pooler.fit_normalizer([feats])
    assert pooler.normalizer.mean.shape == (L, H)  # layers 1..L, each with its own statistics
    layers = pooler.normalizer(pooler.normalization_inputs(feats))
    assert torch.allclose(layers.mean(0), torch.zeros(L, H), atol=1e-4)
    changed = features(64)
    changed = TokenFeatures(
        feats.tokens,
        feats.mask,
        torch.cat([changed.layer_last[:, :1], feats.layer_last[:, 1:]], dim=1),
        feats.layer_mean,
    )
    assert torch.allclose(pooler(changed), pooler(feats))  # layer 0 (embeddings) is not read
