from __future__ import annotations

import math

import numpy as np
import pytest

from modules.continual.metrics import (
    AccuracyMatrix,
    average_incremental_accuracy,
    base_new_accuracy,
    forgetting,
    harmonic_mean,
    last_accuracy,
    seen_accuracy,
    task_accuracies,
)

NAN = float("nan")
# A[i, j]: accuracy on task j after training task i
A = np.array([[0.9, NAN, NAN], [0.6, 0.8, NAN], [0.5, 0.7, 0.9]])


def test_known_matrix() -> None:
    # seen accuracy per step: 0.9, (0.6+0.8)/2 = 0.7, (0.5+0.7+0.9)/3 = 0.7
    assert [seen_accuracy(A, i) for i in range(3)] == pytest.approx([0.9, 0.7, 0.7])
    assert average_incremental_accuracy(A) == pytest.approx(2.3 / 3)
    assert last_accuracy(A) == pytest.approx(0.7)
    # forgetting after step 1: 0.9-0.6; after step 2: ((0.9-0.5) + (0.8-0.7)) / 2
    assert forgetting(A, 0) == 0.0
    assert forgetting(A, 1) == pytest.approx(0.3)
    assert forgetting(A) == pytest.approx(0.25)
    # test sizes 100, 100, 200: (50 + 70 + 180) / 400
    assert last_accuracy(A, [100, 100, 200]) == pytest.approx(0.75)


def test_forgetting_uses_best_earlier_accuracy() -> None:
    a = np.array([[0.5, NAN, NAN], [0.8, 0.9, NAN], [0.6, 0.9, 1.0]])
    assert forgetting(a) == pytest.approx((0.8 - 0.6 + 0.0) / 2)


def test_accuracy_matrix_from_predictions() -> None:
    tasks = [[3, 1], [0, 2]]
    y = np.array([3, 1, 1, 0, 2, 2])
    pred = np.array([3, 0, 1, 0, 2, 1])
    acc = task_accuracies(y, pred, tasks)
    assert acc.tolist() == pytest.approx([2 / 3, 2 / 3])
    m = AccuracyMatrix(2)
    m.record(0, [1.0, 0.0])
    m.record(1, acc)
    assert math.isnan(m.matrix[0, 1])
    s = m.summary(1)
    assert s["acc"] == pytest.approx(2 / 3)
    assert s["avg_inc_acc"] == pytest.approx((1.0 + 2 / 3) / 2)
    assert s["forgetting"] == pytest.approx(1 / 3)
    assert s["acc/task_1"] == pytest.approx(2 / 3)


def test_base_new_and_harmonic_mean() -> None:
    y = np.array([0, 0, 1, 1, 5, 5, 6, 6])
    pred = np.array([0, 0, 1, 0, 5, 0, 0, 0])
    out = base_new_accuracy(y, pred, base_classes=[0, 1])
    assert out["base_acc"] == pytest.approx(0.75)
    assert out["new_acc"] == pytest.approx(0.25)
    assert out["hm_acc"] == pytest.approx(2 * 0.75 * 0.25 / 1.0)
    assert harmonic_mean(0.0, 0.0) == 0.0
    assert math.isnan(base_new_accuracy([0], [0], [0])["new_acc"])
