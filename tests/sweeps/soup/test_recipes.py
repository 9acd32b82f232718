"""The two soup recipes on synthetic weights: the uniform mean by hand, greedy's strict rule."""

from __future__ import annotations

import pytest
import torch

from sweeps.soup.recipes import greedy_soup, uniform_soup


def test_uniform_soup_is_the_elementwise_mean_computed_by_hand():
    a = {"w": torch.tensor([[1.0, 2.0], [3.0, 4.0]]), "b": torch.tensor([0.5]), "n": torch.tensor(3)}
    b = {"w": torch.tensor([[3.0, 0.0], [1.0, 8.0]]), "b": torch.tensor([-0.5]), "n": torch.tensor(9)}
    c = {"w": torch.tensor([[2.0, 1.0], [2.0, 0.0]]), "b": torch.tensor([3.0]), "n": torch.tensor(5)}
    soup = uniform_soup([a, b, c])
    assert torch.equal(soup["w"], torch.tensor([[2.0, 1.0], [2.0, 4.0]]))
    assert torch.equal(soup["b"], torch.tensor([1.0]))
    assert soup["w"].dtype == torch.float32
    assert soup["n"].item() == 3  # integer tensors come from the first ingredient


def test_uniform_soup_keeps_half_precision_and_needs_an_ingredient():
    halves = [{"w": torch.tensor([1.0], dtype=torch.float16)}, {"w": torch.tensor([2.0], dtype=torch.float16)}]
    assert uniform_soup(halves)["w"].dtype == torch.float16
    assert uniform_soup(halves)["w"].item() == 1.5
    with pytest.raises(ValueError):
        uniform_soup([])


def one_hot(i: int, n: int = 4) -> dict[str, torch.Tensor]:
    return {"w": torch.eye(n)[i]}


def scripted(scores: dict[frozenset, float], calls: list):
    """A held-out evaluator that reads the ingredient set off an average of one-hot weights."""

    def score(state_dict):
        members = frozenset(int(i) for i in torch.nonzero(state_dict["w"]).flatten())
        calls.append(members)
        return scores[members]

    return score


def test_greedy_soup_adds_an_ingredient_only_on_strict_improvement():
    scores = {
        frozenset({0}): 0.50,
        frozenset({0, 1}): 0.50,     # equal: must NOT join
        frozenset({0, 2}): 0.60,     # better: joins
        frozenset({0, 2, 3}): 0.59,  # worse: stays out
    }
    calls: list = []
    result = greedy_soup([one_hot(i) for i in range(4)], scripted(scores, calls))
    assert result.kept == [0, 2]
    assert result.score == 0.60
    assert calls == [frozenset({0}), frozenset({0, 1}), frozenset({0, 2}), frozenset({0, 2, 3})]
    assert torch.equal(result.state_dict["w"], torch.tensor([0.5, 0.0, 0.5, 0.0]))
    assert [kept for _, _, kept in result.trace] == [True, False, True, False]


def test_greedy_soup_with_a_loss_keeps_strictly_lower_scores():
    scores = {frozenset({0}): 1.0, frozenset({0, 1}): 0.9, frozenset({0, 1, 2}): 0.9}
    result = greedy_soup([one_hot(i, 3) for i in range(3)], scripted(scores, []), mode="min")
    assert result.kept == [0, 1]
