from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from modules.continual.scenarios import ClassIncrementalScenario
from modules.continual.sequence import run_sequence
from modules.continual.trainable import FinetuneMethod, JointMethod, SLCAMethod, take
from modules.continual.training import sgd, train_mode


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
    assert lrs == pytest.approx([1e-4, 0.1])
    assert not torch.equal(encoder.weight, before)  # the backbone did train
    assert 0.0 <= metrics["acc"] <= 1.0


def test_finetune_and_joint_run_and_joint_learns() -> None:
    torch.manual_seed(0)
    x, y = _toy()
    scenario = ClassIncrementalScenario(y, 2, seed=0)
    ft, _, _ = run_sequence(FinetuneMethod(nn.Linear(6, 6), 6, epochs=2), scenario, x, y, x, y)
    joint = JointMethod(nn.Linear(6, 6), 6, num_tasks=2, epochs=20, head_lr=0.05, backbone_lr=0.05)
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


@pytest.mark.parametrize("train_bn", [False, True])
def test_batchnorm_statistics_stay_frozen_unless_asked(train_bn: bool) -> None:
    torch.manual_seed(0)
    x, y = _toy()
    encoder = nn.Sequential(nn.Linear(6, 6), nn.BatchNorm1d(6))
    bn = encoder[1]
    stats, scale = bn.running_mean.clone(), bn.weight.detach().clone()
    method = FinetuneMethod(encoder, 6, epochs=2, train_bn=train_bn)
    method.learn_task(0, x[y < 2], torch.as_tensor(y[y < 2]))
    assert torch.equal(bn.running_mean, stats) is not train_bn
    assert not torch.equal(bn.weight, scale)  # the affine weights train either way
    groups = [g["lr"] for g in sgd([(encoder, 1e-3), (method.head, 0.1)]).param_groups]
    assert groups == pytest.approx([1e-3, 0.1])


def test_train_mode_keeps_batchnorm_in_eval() -> None:
    net = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2), nn.Dropout(0.5))
    train_mode(net)
    assert net.training and net[2].training and not net[1].training
    train_mode(net, train_bn=True)
    assert net[1].training
    with pytest.raises(ValueError, match="nothing to train"):
        sgd([(nn.Identity(), 1e-3), (None, 0.1)])
