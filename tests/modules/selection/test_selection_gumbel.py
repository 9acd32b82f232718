from __future__ import annotations

import numpy as np
import pytest
import torch

from modules.selection.gumbel import gumbel_top_k


def counts(scores: torch.Tensor, k: int, temperature: float, draws: int = 400) -> np.ndarray:
    gen = torch.Generator().manual_seed(0)
    hits = np.zeros(len(scores))
    for _ in range(draws):
        hits[gumbel_top_k(scores, k, temperature, gen).numpy()] += 1
    return hits


def test_k_distinct_items():
    chosen = gumbel_top_k(torch.randn(50), 10, 0.5, torch.Generator().manual_seed(1))
    assert len(chosen) == 10 and len(set(chosen.tolist())) == 10
    assert chosen.min() >= 0 and chosen.max() < 50


def test_zero_and_tiny_temperature_are_plain_top_k_of_the_lowest():
    scores = torch.randn(40, generator=torch.Generator().manual_seed(2))
    lowest = set(torch.argsort(scores)[:7].tolist())
    assert set(gumbel_top_k(scores, 7, 0.0).tolist()) == lowest
    assert set(gumbel_top_k(scores, 7, 1e-6, torch.Generator().manual_seed(3)).tolist()) == lowest


def test_lowest_scores_are_favoured():
    scores = torch.linspace(-2, 2, 20)
    hits = counts(scores, 5, 0.5)
    assert hits[:5].sum() > 3 * hits[-5:].sum()
    assert np.corrcoef(scores.numpy(), hits)[0, 1] < -0.8


def test_high_temperature_is_nearly_uniform():
    scores = torch.linspace(-2, 2, 20)
    hits = counts(scores, 5, 1e4)
    expected = 400 * 5 / 20
    assert np.all(np.abs(hits - expected) < 0.35 * expected)
    assert abs(np.corrcoef(scores.numpy(), hits)[0, 1]) < 0.5


def test_bad_arguments():
    with pytest.raises(ValueError):
        gumbel_top_k(torch.zeros(3), 4, 0.5)
    with pytest.raises(ValueError):
        gumbel_top_k(torch.zeros(3), 1, -1.0)
