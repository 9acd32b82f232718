"""InfoNCE: in-batch and hard negatives, temperature 0.05."""

from __future__ import annotations

import math

import torch

from modules.embedding.loss import info_nce


def test_perfect_match_has_low_loss_and_hard_negatives_raise_it():
    q = torch.eye(4)
    easy = info_nce(q, q)
    assert easy < 1e-6
    hard = info_nce(q, q, negatives=q.clone())  # each negative equals its positive
    assert math.isclose(hard.item(), math.log(2), rel_tol=1e-4)


def test_temperature_scales_logits():
    torch.manual_seed(0)
    q, p = torch.randn(8, 16), torch.randn(8, 16)
    qn, pn = torch.nn.functional.normalize(q, dim=-1), torch.nn.functional.normalize(p, dim=-1)
    expected = torch.nn.functional.cross_entropy(qn @ pn.T * 20, torch.arange(8))
    assert torch.allclose(info_nce(q, p), expected, atol=1e-5)
