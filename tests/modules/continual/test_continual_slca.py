from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from modules.continual.slca import (
    ClassGaussians,
    SLCALearner,
    TaskHead,
    align_classifier,
    alignment_loss,
    current_task_loss,
    make_optimizer,
    normalized_logits,
)


def _head(sizes: list[int], dim: int = 3) -> TaskHead:
    head = TaskHead(dim)
    for n in sizes:
        head.add_task(n)
    return head


def test_learning_rate_per_parameter_group() -> None:
    backbone, head = nn.Linear(4, 3), _head([2, 2])
    opt = make_optimizer(backbone, head, head_lr=0.1, backbone_lr=1e-4)
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([1e-4, 0.1])
    assert all(g["momentum"] == 0.9 for g in opt.param_groups)
    ids = [{id(p) for p in g["params"]} for g in opt.param_groups]
    assert ids[0] == {id(p) for p in backbone.parameters()}
    assert ids[1] == {id(p) for p in head.parameters()}
    # a backbone at rate 0, a frozen one and an identity one get no group
    assert len(make_optimizer(backbone, head, backbone_lr=0.0).param_groups) == 1
    assert len(make_optimizer(nn.Identity(), head).param_groups) == 1
    for p in backbone.parameters():
        p.requires_grad_(False)
    assert len(make_optimizer(backbone, head).param_groups) == 1


def test_alignment_shrinks_older_class_means_as_the_official_code() -> None:
    g = ClassGaussians()
    for task in range(3):  # classes 2t, 2t+1 at task t, every mean at 1
        g.add(
            torch.ones(4, 2), torch.tensor([2 * task, 2 * task, 2 * task + 1, 2 * task + 1]), task
        )
    scales = g.mean_scales(current_task=2)  # 0.9 + 0.1 (t + 1) / 3
    assert [scales[c] for c in range(6)] == pytest.approx(
        [0.9 + 0.1 / 3] * 2 + [0.9 + 0.2 / 3] * 2 + [1.0] * 2
    )
    x, y = g.sample(3, scales=scales, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(x[y == 0], torch.full((3, 2), 0.9 + 0.1 / 3), atol=0.05)
    assert torch.allclose(x[y == 5], torch.ones(3, 2), atol=0.05)


def test_head_blocks_and_current_task_loss() -> None:
    head = _head([2, 3])
    assert head.task_sizes == [2, 3] and head.num_classes == 5
    logits = torch.randn(4, 5)
    targets = torch.tensor([2, 3, 4, 2])
    expected = F.cross_entropy(logits[:, 2:], targets - 2)
    assert float(current_task_loss(logits, targets, known=2)) == pytest.approx(float(expected))
    assert head(torch.randn(4, 3)).shape == (4, 5)


def test_logit_normalization_by_hand() -> None:
    # block norms 5 and 10, mean 7.5; divided by 7.5 then by 0.1
    out = normalized_logits(torch.tensor([[3.0, 4.0, 6.0, 8.0]]), [2, 2], temperature=0.1)
    assert out.tolist() == [pytest.approx([4.0, 16 / 3, 8.0, 32 / 3], rel=1e-5)]


def test_gaussian_statistics_and_sampling() -> None:
    torch.manual_seed(0)
    mix = torch.tensor([[1.0, 0.0, 0.0], [0.5, 0.8, 0.0], [0.2, -0.3, 0.4]])
    feats = torch.cat([torch.randn(400, 3) @ mix + 2.0, torch.randn(300, 3) - 1.0])
    labels = torch.tensor([0] * 400 + [5] * 300)
    g = ClassGaussians(ridge=1e-4)
    g.add(feats, labels)
    assert g.classes == [0, 5]
    stored = g.covs[0]
    expected = torch.cov(feats[:400].double().T) + 1e-4 * torch.eye(3, dtype=torch.float64)
    assert torch.allclose(stored, expected)
    assert torch.allclose(g.means[0], feats[:400].double().mean(0))
    x, y = g.sample(20000, generator=torch.Generator().manual_seed(1))
    assert x.dtype == torch.float32 and y.tolist().count(5) == 20000
    for c in (0, 5):
        rows = x[y == c].double()
        assert torch.allclose(rows.mean(0), g.means[c], atol=0.03)
        assert torch.allclose(torch.cov(rows.T), g.covs[c], atol=0.05)


def test_alignment_reduces_loss_on_a_toy_case() -> None:
    torch.manual_seed(0)
    centers = torch.tensor([[3.0, 0, 0, 0], [0, 3.0, 0, 0], [0, 0, 3.0, 0], [0, 0, 0, 3.0]])
    feats = torch.cat([c + 0.5 * torch.randn(50, 4) for c in centers])
    labels = torch.arange(4).repeat_interleave(50)
    g = ClassGaussians()
    g.add(feats, labels)
    head = _head([2, 2], dim=4)
    with torch.no_grad():  # a head biased towards the newest task's block
        head.blocks[1].bias.fill_(5.0)
    probe_x, probe_y = g.sample(100, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        before = float(alignment_loss(head, probe_x, probe_y))
        acc_before = float((head(probe_x).argmax(1) == probe_y).float().mean())
    history = align_classifier(head, g, samples_per_class=64, epochs=5, lr=0.05, batch_size=64)
    with torch.no_grad():
        after = float(alignment_loss(head, probe_x, probe_y))
        acc_after = float((head(probe_x).argmax(1) == probe_y).float().mean())
    assert len(history) == 5 and history[-1] < history[0]
    assert after < 0.5 * before
    assert acc_before <= 0.5 < 0.9 < acc_after  # the bias towards the last block is undone


def test_learner_over_two_tasks() -> None:
    torch.manual_seed(0)
    encoder = nn.Linear(4, 4)
    learner = SLCALearner(encoder, 4, ca_epochs=2, ca_samples_per_class=16)
    x = torch.randn(40, 4) + torch.arange(4).repeat_interleave(10)[:, None]
    y = torch.arange(4).repeat_interleave(10)
    for task in range(2):
        idx = (y // 2) == task
        learner.begin_task(2)
        assert [g["lr"] for g in learner.optimizer.param_groups] == pytest.approx([1e-4, 0.1])
        for _ in range(3):
            learner.train_step(x[idx], y[idx])
        losses = learner.end_task(learner.features([x[idx]]), y[idx], task)
        assert len(losses) == (0 if task == 0 else 2)
    assert learner.gaussians.classes == [0, 1, 2, 3]
    assert learner.gaussians.tasks == {0: 0, 1: 0, 2: 1, 3: 1}
    assert learner.predict(x).shape == (40,)
    off = SLCALearner(nn.Linear(4, 4), 4, alignment=False)
    off.begin_task(2)
    assert off.end_task(x[:10], y[:10] % 2, task=1) == []
