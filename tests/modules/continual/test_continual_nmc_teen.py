from __future__ import annotations

import math

import pytest
import torch

from modules.continual.nmc import NearestMeanClassifier
from modules.continual.teen import calibrate_prototypes, calibration_weights, prototype_predict


def test_nmc_against_hand_computation() -> None:
    nmc = NearestMeanClassifier()
    # class 7: [3,4] -> [0.6,0.8], [0,2] -> [0,1]; mean [0.3, 0.9]. class 2: [2,0] -> [1,0]
    nmc.update(torch.tensor([[3.0, 4.0], [0.0, 2.0], [2.0, 0.0]]), torch.tensor([7, 7, 2]))
    assert nmc.classes == [2, 7]
    assert nmc.means().tolist() == [pytest.approx([1.0, 0.0]), pytest.approx([0.3, 0.9])]
    # [1,1] -> [.7071,.7071]: |.-m7| = sqrt(.4071^2+.1929^2) = .4505 < |.-m2| = .7654
    # [5,1] -> [.9806,.1961]: |.-m2| = .1971 < |.-m7| = .9791
    # [100,1]: a large norm does not matter once normalized
    pred = nmc.predict(torch.tensor([[1.0, 1.0], [5.0, 1.0], [100.0, 1.0]]))
    assert pred.tolist() == [7, 2, 2]
    # a later example of a known class updates its running mean: class 2 mean ([1,0]+[.7071,.7071])/2
    nmc.update(torch.tensor([[1.0, 1.0]]), torch.tensor([2]))
    s = 1 / math.sqrt(2)
    assert nmc.means()[0].tolist() == pytest.approx([(1 + s) / 2, s / 2])
    # a new class arrives
    nmc.update(torch.tensor([[0.0, -3.0]]), torch.tensor([4]))
    assert nmc.classes == [2, 7, 4]
    assert nmc.predict(torch.tensor([[0.1, -1.0]])).tolist() == [4]


def test_nmc_cosine_and_errors() -> None:
    with pytest.raises(ValueError):
        NearestMeanClassifier(metric="l1")
    nmc = NearestMeanClassifier(metric="cosine")
    with pytest.raises(RuntimeError):
        nmc.predict(torch.zeros(1, 2))
    nmc.update(torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 1]))
    assert nmc.scores(torch.tensor([[2.0, 0.0]])).tolist() == [pytest.approx([1.0, 0.0])]


def test_teen_weights_and_calibration_by_hand() -> None:
    base = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    new = torch.tensor([[1.0, 0.0]])
    # cos = [1, 0]; weights = softmax([16, 0])
    w0 = math.exp(16) / (math.exp(16) + 1)
    assert calibration_weights(new, base).tolist() == [pytest.approx([w0, 1 - w0])]
    norm = math.hypot(w0, 1 - w0)
    out = calibrate_prototypes(new, base, alpha=0.5)
    assert out.tolist() == [pytest.approx([0.5 + 0.5 * w0 / norm, 0.5 * (1 - w0) / norm])]
    # tau = 0: uniform weights, delta = normalize([.5, .5]); the new prototype [2, 0] is fused
    # as the unit vector [1, 0] (wangkiw/TEEN normalizes cur_protos): 0.75 * [1, 0] + 0.25 * [s, s]
    s = 1 / math.sqrt(2)
    out = calibrate_prototypes(torch.tensor([[2.0, 0.0]]), base, alpha=0.25, tau=0.0)
    assert out.tolist() == [pytest.approx([0.75 + 0.25 * s, 0.25 * s])]
    # base prototypes enter as unit vectors too: their norms do not change the result
    scaled = calibrate_prototypes(torch.tensor([[2.0, 1.0]]), base * torch.tensor([[3.0], [0.5]]))
    assert torch.allclose(scaled, calibrate_prototypes(torch.tensor([[2.0, 1.0]]), base))


def test_teen_alpha_zero_is_identity_and_pulls_toward_base() -> None:
    torch.manual_seed(0)
    base, new = torch.randn(5, 8), torch.randn(3, 8)
    unit = torch.nn.functional.normalize(new, dim=-1)
    assert torch.allclose(calibrate_prototypes(new, base, alpha=0.0), unit)
    with pytest.raises(ValueError):
        calibrate_prototypes(new, base, alpha=1.5)
    unit_new = torch.nn.functional.normalize(new, dim=-1)
    moved = calibrate_prototypes(unit_new, base, alpha=0.3)
    before = (unit_new @ torch.nn.functional.normalize(base, dim=-1).T).max(1).values
    after = (
        (
            torch.nn.functional.normalize(moved, dim=-1)
            @ torch.nn.functional.normalize(base, dim=-1).T
        )
        .max(1)
        .values
    )
    assert bool((after >= before - 1e-6).all())
    assert prototype_predict(base, base).tolist() == list(range(5))
