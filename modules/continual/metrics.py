"""Continual-learning metrics from an accuracy matrix, and TEEN's base/new accuracy.

``A[i, j]`` is the accuracy on task ``j``'s test data after training through task ``i`` (NaN for
``j > i``: not seen yet). From it:

- accuracy after step ``i`` on everything seen so far: the mean of ``A[i, :i+1]`` weighted by the
  tasks' test sizes (equal weights by default) — what a single head scores on all seen classes;
- average incremental accuracy (Rebuffi et al., 2017, iCaRL, CVPR): the mean of those over steps;
- last accuracy: the one after the final step;
- forgetting (Chaudhry et al., 2018, "Riemannian Walk for Incremental Learning", ECCV): after step
  ``k``, the mean over earlier tasks ``j < k`` of ``max_{l<k} A[l, j] - A[k, j]``.

For few-shot class-incremental learning (Wang et al., NeurIPS 2023, TEEN): the accuracy on base-
class and on new-class test examples, and their harmonic mean ``2ab / (a + b)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def task_accuracies(
    y_true: Sequence[int] | np.ndarray,
    y_pred: Sequence[int] | np.ndarray,
    task_classes: Sequence[Sequence[int]],
) -> np.ndarray:
    """Accuracy on each task's test examples (NaN where a task has none)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    out = np.full(len(task_classes), np.nan)
    for t, classes in enumerate(task_classes):
        mask = np.isin(y_true, list(classes))
        if mask.any():
            out[t] = float((y_pred[mask] == y_true[mask]).mean())
    return out


def seen_accuracy(matrix: np.ndarray, step: int, sizes: Sequence[float] | None = None) -> float:
    """Accuracy on every task seen through ``step`` (test sizes as weights; equal if None)."""
    row = np.asarray(matrix, dtype=float)[step, : step + 1]
    weights = np.ones(step + 1) if sizes is None else np.asarray(sizes, dtype=float)[: step + 1]
    return float(np.sum(row * weights) / np.sum(weights))


def average_incremental_accuracy(matrix: np.ndarray, sizes: Sequence[float] | None = None) -> float:
    """Mean over steps of the accuracy on all seen tasks (iCaRL's average incremental accuracy)."""
    steps = np.asarray(matrix).shape[0]
    return float(np.mean([seen_accuracy(matrix, i, sizes) for i in range(steps)]))


def last_accuracy(matrix: np.ndarray, sizes: Sequence[float] | None = None) -> float:
    """Accuracy on all tasks after the final step."""
    return seen_accuracy(matrix, np.asarray(matrix).shape[0] - 1, sizes)


def forgetting(matrix: np.ndarray, step: int | None = None) -> float:
    """Average forgetting after ``step`` (default: the last): the mean over tasks ``j < step`` of
    the best earlier accuracy on ``j`` minus the accuracy on ``j`` now. 0 after the first step."""
    a = np.asarray(matrix, dtype=float)
    k = a.shape[0] - 1 if step is None else step
    if k == 0:
        return 0.0
    drops = [np.max(a[j:k, j]) - a[k, j] for j in range(k)]
    return float(np.mean(drops))


def harmonic_mean(a: float, b: float) -> float:
    """``2ab / (a + b)``; 0 when both are 0."""
    return 0.0 if a + b == 0 else 2.0 * a * b / (a + b)


def base_new_accuracy(
    y_true: Sequence[int] | np.ndarray,
    y_pred: Sequence[int] | np.ndarray,
    base_classes: Sequence[int],
) -> dict[str, float]:
    """TEEN's split of the accuracy: on base-class examples, on new-class examples, and their
    harmonic mean (NaN for a side with no examples)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    is_base = np.isin(y_true, list(base_classes))
    correct = y_pred == y_true
    base = float(correct[is_base].mean()) if is_base.any() else float("nan")
    new = float(correct[~is_base].mean()) if (~is_base).any() else float("nan")
    hm = harmonic_mean(base, new) if not (np.isnan(base) or np.isnan(new)) else float("nan")
    return {"base_acc": base, "new_acc": new, "hm_acc": hm}


class AccuracyMatrix:
    """Fills ``A`` row by row as tasks are trained, and summarizes each step for reporting."""

    def __init__(self, num_tasks: int, sizes: Sequence[float] | None = None) -> None:
        self.matrix = np.full((num_tasks, num_tasks), np.nan)
        self.sizes = None if sizes is None else list(sizes)

    def record(self, step: int, accuracies: Sequence[float]) -> None:
        """Row ``step``: the accuracy on tasks ``0..step`` (later entries are ignored)."""
        self.matrix[step, : step + 1] = np.asarray(accuracies, dtype=float)[: step + 1]

    def summary(self, step: int) -> dict[str, float]:
        """Metrics after ``step``: seen-task accuracy, average incremental accuracy so far,
        forgetting, and each seen task's accuracy (``acc/task_<j>``)."""
        upto = self.matrix[: step + 1, : step + 1]
        out = {
            "acc": seen_accuracy(self.matrix, step, self.sizes),
            "avg_inc_acc": average_incremental_accuracy(upto, self.sizes),
            "forgetting": forgetting(self.matrix, step),
        }
        out.update({f"acc/task_{j}": float(self.matrix[step, j]) for j in range(step + 1)})
        return out
