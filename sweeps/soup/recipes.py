"""The two recipes of "Model soups" (Wortsman et al., ICML 2022; mlfoundations/model-soups).

- :func:`uniform_soup`: the element-wise mean of every ingredient's weights.
- :func:`greedy_soup`: ingredients sorted best first by held-out score; starting from the best,
  each next one joins the running average only when the held-out score of the average strictly
  improves (an equal score does not add it), as in the paper's Recipe 1 and the official code.

Floating-point tensors are averaged in float64 and cast back; other tensors (integer counters)
are taken from the first ingredient. Both recipes assume matching ingredients
(:func:`sweeps.soup.ingredients.check_compatible` checks that first).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

StateDict = dict[str, torch.Tensor]


def uniform_soup(state_dicts: Sequence[StateDict]) -> StateDict:
    """The mean of ``state_dicts`` (at least one), key by key."""
    if not state_dicts:
        raise ValueError("a soup needs at least one ingredient")
    first = state_dicts[0]
    soup = {}
    for key, tensor in first.items():
        if tensor.is_floating_point():
            total = torch.zeros_like(tensor, dtype=torch.float64)
            for sd in state_dicts:
                total += sd[key].to(torch.float64)
            soup[key] = (total / len(state_dicts)).to(tensor.dtype)
        else:
            soup[key] = tensor.clone()
    return soup


@dataclass
class GreedyResult:
    """The greedy soup, the indices of the kept ingredients, and every candidate's held-out score."""

    state_dict: StateDict
    kept: list[int]
    score: float
    trace: list[tuple[int, float, bool]] = field(default_factory=list)  # (index, score, kept)


def greedy_soup(
    state_dicts: Sequence[StateDict],
    score: Callable[[StateDict], float],
    mode: str = "max",
) -> GreedyResult:
    """Greedy soup over ``state_dicts``, which must be sorted best first by held-out score.

    ``score`` returns the held-out score of a state dict (``mode`` "max": higher is better, "min":
    lower). The first ingredient is scored too, so every comparison uses the same evaluator.
    """
    if not state_dicts:
        raise ValueError("a soup needs at least one ingredient")
    better = (lambda a, b: a > b) if mode == "max" else (lambda a, b: a < b)
    kept = [0]
    best = float(score(state_dicts[0]))
    trace = [(0, best, True)]
    for index in range(1, len(state_dicts)):
        candidate = uniform_soup([state_dicts[i] for i in [*kept, index]])
        value = float(score(candidate))
        joins = better(value, best)
        trace.append((index, value, joins))
        if joins:
            kept.append(index)
            best = value
    return GreedyResult(uniform_soup([state_dicts[i] for i in kept]), kept, best, trace)
