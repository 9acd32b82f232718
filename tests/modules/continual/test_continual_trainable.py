from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from modules.continual.scenarios import ClassIncrementalScenario
from modules.continual.sequence import run_sequence
from modules.continual.trainable import FinetuneMethod, JointMethod, SLCAMethod, take


def _toy(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    centers = 3.0 * torch.randn(4, 6, generator=g)
    y = np.repeat(np.arange(4), 15)
    x = centers[torch.as_tensor(y)] + torch.randn(len(y), 6, generator=g)
    return x, y


def test_take_handles_tensors_arrays_and_lists() -> None:
    idx = np.array([2, 0])
    assert take(torch.arange(4), idx).tolist() == [2, 0]
    assert take(np.arange(4), idx).tolist() == [2, 0]
    assert take(["a", "b", "c"], idx) == ["c", "a"]


def test_slca_method_trains_backbone_slowly() -> None:
    torch.manual_seed(0)
    x, y = _toy()
    encoder = nn.Linear(6, 6)
    before = encoder.weight.detach().clone()
    method = SLCAMethod(encoder, 6, epochs=2, ca_epochs=1, ca_samples_per_class=8)
    metrics, _, _ = run_sequence(method, ClassIncrementalScenario(y, 2, seed=0), x, y, x, y)
    lrs = [g["lr"] for g in method.learner.optimizer.param_groups]
    assert lrs == pytest.approx([1e-4, 0.01])
    assert not torch.equal(encoder.weight, before)  # the backbone did train
    assert 0.0 <= metrics["acc"] <= 1.0


def test_finetune_and_joint_run_and_joint_learns() -> None:
    torch.manual_seed(0)
    x, y = _toy()
    scenario = ClassIncrementalScenario(y, 2, seed=0)
    ft, _, _ = run_sequence(FinetuneMethod(nn.Linear(6, 6), 6, epochs=2), scenario, x, y, x, y)
    joint = JointMethod(nn.Linear(6, 6), 6, num_tasks=2, epochs=20, lr=0.05)
    jm, _, _ = run_sequence(joint, scenario, x, y, x, y)
    assert 0.0 <= ft["acc"] <= 1.0
    assert jm["acc"] > 0.9


@pytest.mark.parametrize("build", ["slca", "finetune", "joint"])
def test_trainable_state_round_trips(build: str) -> None:
    x, y = _toy()
    targets = torch.as_tensor(y)

    def make(seed: int):
        torch.manual_seed(seed)  # different initial weights: the state must overwrite them
        encoder = nn.Linear(6, 6)
        if build == "slca":
            return SLCAMethod(encoder, 6, ca_epochs=1, ca_samples_per_class=8)
        if build == "finetune":
            return FinetuneMethod(encoder, 6)
        return JointMethod(encoder, 6, num_tasks=3)

    first = make(0)
    first.learn_task(0, x[y < 2], targets[y < 2])
    first.learn_task(1, x[(y >= 2) & (y < 4)], targets[(y >= 2) & (y < 4)])
    state = first.state_dict()
    again = make(1)
    again.load_state_dict(state)
    assert torch.equal(first.predict(x), again.predict(x))
    if build == "joint":
        assert [len(t) for _, t in again.stored] == [30, 30]
