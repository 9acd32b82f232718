"""Run a continual method over a scenario's task sequence on frozen (cached) features, filling the
accuracy matrix after every task.

Methods see targets as positions in the scenario's class order (one head; no task id at test
time) through a two-call protocol: ``learn_task(task, features, targets)`` and ``predict(features)``.
Adapters here: :class:`NMCMethod` (Janson et al., 2022), :class:`TEENMethod` (Wang et al., NeurIPS
2023; ``alpha=0`` is the uncalibrated prototype baseline) and :class:`FrozenSLCAMethod` (Zhang et
al., ICCV 2023, with the backbone frozen: per-task head blocks + classifier alignment only).
Trainable-backbone methods (:mod:`modules.continual.trainable`) run through the same loop with
raw inputs (a tensor, an array or a list of texts) in place of the features.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from modules.continual.metrics import AccuracyMatrix, base_new_accuracy, task_accuracies
from modules.continual.nmc import NearestMeanClassifier
from modules.continual.scenarios import ClassIncrementalScenario
from modules.continual.teen import calibrate_prototypes
from modules.continual.trainable import SLCAMethod, take


class ContinualMethod(Protocol):
    """``learn_task``, ``scores`` (column = class position) and ``predict`` (their argmax) on
    class positions; ``state_dict``/``load_state_dict``
    (tensors, numbers, strings, lists and dicts only) let a sequence resume after a task."""

    def learn_task(self, task: int, features: torch.Tensor, targets: torch.Tensor) -> None: ...

    def scores(self, features: torch.Tensor) -> torch.Tensor: ...

    def predict(self, features: torch.Tensor) -> torch.Tensor: ...

    def state_dict(self) -> dict: ...

    def load_state_dict(self, state: dict) -> None: ...


def by_position(scores: torch.Tensor, classes: list[int]) -> torch.Tensor:
    """Columns of ``scores`` (one per class, in ``classes`` order) moved to column = class
    position; positions never seen score -inf."""
    out = torch.full((len(scores), max(classes) + 1), float("-inf"), dtype=scores.dtype)
    out[:, torch.as_tensor(classes)] = scores
    return out


class NMCMethod:
    """Nearest class mean of L2-normalized frozen features; no training."""

    def __init__(self, metric: str = "euclidean") -> None:
        self.nmc = NearestMeanClassifier(metric=metric)

    def learn_task(self, task: int, features: torch.Tensor, targets: torch.Tensor) -> None:
        self.nmc.update(features, targets)

    def scores(self, features: torch.Tensor) -> torch.Tensor:
        return by_position(self.nmc.scores(features), self.nmc.classes)

    def predict(self, features: torch.Tensor) -> torch.Tensor:
        return self.nmc.predict(features)

    def state_dict(self) -> dict:
        return {"sums": dict(self.nmc._sums), "counts": dict(self.nmc._counts)}

    def load_state_dict(self, state: dict) -> None:
        self.nmc._sums = {int(c): v for c, v in state["sums"].items()}
        self.nmc._counts = {int(c): int(n) for c, n in state["counts"].items()}


class TEENMethod:
    """Cosine prototype classifier; prototypes of classes after the base session are calibrated
    towards the base prototypes (``alpha``, ``tau``)."""

    def __init__(self, alpha: float = 0.5, tau: float = 16.0) -> None:
        self.alpha, self.tau = alpha, tau
        self.classes: list[int] = []
        self.prototypes: list[torch.Tensor] = []
        self.num_base = 0

    def learn_task(self, task: int, features: torch.Tensor, targets: torch.Tensor) -> None:
        x = F.normalize(features.float(), dim=-1)
        classes = torch.unique(targets).tolist()
        protos = torch.stack([x[targets == c].mean(0) for c in classes])
        if task == 0:
            self.num_base = len(classes)
        else:
            base = torch.stack(self.prototypes[: self.num_base])
            protos = calibrate_prototypes(protos, base, self.alpha, self.tau)
        self.classes += classes
        self.prototypes += list(protos)

    def scores(self, features: torch.Tensor) -> torch.Tensor:
        protos = F.normalize(torch.stack(self.prototypes), dim=-1)
        return by_position(F.normalize(features.float(), dim=-1) @ protos.T, self.classes)

    def predict(self, features: torch.Tensor) -> torch.Tensor:
        return self.scores(features).argmax(dim=1)

    def state_dict(self) -> dict:
        return {
            "classes": list(self.classes),
            "prototypes": list(self.prototypes),
            "num_base": self.num_base,
        }

    def load_state_dict(self, state: dict) -> None:
        self.classes = [int(c) for c in state["classes"]]
        self.prototypes = list(state["prototypes"])
        self.num_base = int(state["num_base"])


class FrozenSLCAMethod(SLCAMethod):
    """SLCA on frozen (cached) features: a head block per task trained on the task's logits, then
    the class Gaussians and, from the second task on, classifier alignment."""

    needs_inputs = False

    def __init__(self, feature_dim: int, epochs: int = 5, **kwargs: Any) -> None:
        super().__init__(nn.Identity(), feature_dim, epochs=epochs, **kwargs)


class SequenceRun:
    """One method over one scenario, one task per :meth:`step`, with the accuracy matrix filled
    as it goes; :meth:`state_dict` holds everything a resumed run needs (the method's state, the
    matrix, the last predictions and metrics), so a sequence can continue after any task."""

    def __init__(
        self,
        method: ContinualMethod | None,
        scenario: ClassIncrementalScenario,
        train_features: Any,
        y_train: np.ndarray,
        test_features: Any,
        y_test: np.ndarray,
    ) -> None:
        self.method, self.scenario = method, scenario
        self.x_train, self.x_test = train_features, test_features
        self.train_pos = torch.as_tensor(scenario.remap(y_train))
        self.test_pos = scenario.remap(y_test)
        self.positions = [
            list(range(scenario.known_classes(t), scenario.known_classes(t) + n))
            for t, n in enumerate(scenario.task_sizes())
        ]
        sizes = [int(np.isin(self.test_pos, p).sum()) for p in self.positions]
        self.matrix = AccuracyMatrix(scenario.num_tasks, sizes)
        self.metrics: dict[str, float] = {}
        self.pred = np.zeros(0, dtype=np.int64)
        self.done = 0  # tasks finished

    def step(self, t: int) -> dict[str, float]:
        """Learn task ``t`` and evaluate on every seen task's test data; the metrics after it."""
        if t != self.done:
            raise ValueError(f"task {t} out of order: {self.done} tasks done")
        idx = torch.as_tensor(self.scenario.task_indices(t))
        self.method.learn_task(t, take(self.x_train, idx), self.train_pos[idx])
        seen = np.flatnonzero(self.test_pos < self.positions[t][-1] + 1)
        scores = self.method.scores(take(self.x_test, seen))
        self.pred = scores.argmax(dim=1).numpy()
        self.matrix.record(
            t, task_accuracies(self.test_pos[seen], self.pred, self.positions[: t + 1])
        )
        metrics = self.matrix.summary(t)
        metrics["current_acc"] = within_task_accuracy(
            scores, self.test_pos[seen], self.positions[t]
        )
        metrics.update(base_new_accuracy(self.test_pos[seen], self.pred, self.positions[0]))
        metrics["task"] = float(t)
        self.metrics, self.done = metrics, t + 1
        return metrics

    def state_dict(self, with_method: bool = True) -> dict:
        state = {
            "matrix": torch.as_tensor(self.matrix.matrix),
            "pred": torch.as_tensor(self.pred),
            "metrics": dict(self.metrics),
            "done": self.done,
        }
        if with_method and self.method is not None:
            state["method"] = self.method.state_dict()
        return state

    def load_state_dict(self, state: dict) -> None:
        self.matrix.matrix = state["matrix"].numpy().astype(float)
        self.pred = state["pred"].numpy()
        self.metrics = {k: float(v) for k, v in state["metrics"].items()}
        self.done = int(state["done"])
        if "method" in state and self.method is not None:
            self.method.load_state_dict(state["method"])


def within_task_accuracy(scores: torch.Tensor, targets: np.ndarray, task: list[int]) -> float:
    """Accuracy on the examples of one task when the prediction is restricted to that task's
    classes (``task``: their positions): its chance level is one over the task's classes."""
    rows = np.flatnonzero(np.isin(targets, task))
    pred = scores[torch.as_tensor(rows)][:, task].argmax(dim=1).numpy()
    return float((np.asarray(task)[pred] == targets[rows]).mean())


def run_sequence(
    method: ContinualMethod,
    scenario: ClassIncrementalScenario,
    train_features: Any,
    y_train: np.ndarray,
    test_features: Any,
    y_test: np.ndarray,
    on_task_end: Callable[[int, dict[str, float]], None] | None = None,
) -> tuple[dict[str, float], AccuracyMatrix, np.ndarray]:
    """Train ``method`` task by task; after each, evaluate on the test data of every seen task.

    Returns the last step's metrics (``acc``, ``avg_inc_acc``, ``forgetting``, per-task
    accuracies, and ``base_acc``/``new_acc``/``hm_acc`` with the first task as the base), the
    accuracy matrix, and the final predictions on the test set (class positions) for per-example
    scores. ``on_task_end(step, metrics)`` is called after every task (for per-task reporting).
    """
    run = SequenceRun(method, scenario, train_features, y_train, test_features, y_test)
    for t in range(scenario.num_tasks):
        metrics = run.step(t)
        if on_task_end is not None:
            on_task_end(t, metrics)
    return run.metrics, run.matrix, run.pred
