"""Class-incremental task sequences with a fixed class order per seed and a single head.

The class-incremental protocol (van de Ven & Tolias, 2019, "Three scenarios for continual
learning", arXiv 1904.07734; Rebuffi et al., 2017, iCaRL): the classes are shuffled once by a seed
and cut into tasks of ``classes_per_task`` classes; no class appears in two tasks; at test time
there is no task id, so one head scores every class seen so far. Model outputs index classes by
their *position* in the order (:meth:`ClassIncrementalScenario.remap`), so the head of task ``t``
owns outputs ``[known, known + len(task t)]``.

The few-shot variant (Tao et al., 2020, "Few-Shot Class-Incremental Learning", CVPR; the TEEN
protocol, Wang et al., NeurIPS 2023): a base session with many classes and all their training
examples, then ``way``-way ``shot``-shot sessions that keep only ``shot`` examples per new class.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def class_order(classes: Sequence[int], seed: int | None) -> list[int]:
    """The classes in the order a seed fixes (``seed=None``: sorted, the unshuffled order)."""
    ordered = sorted(int(c) for c in set(classes))
    if seed is None:
        return ordered
    return [ordered[i] for i in np.random.default_rng(seed).permutation(len(ordered))]


class ClassIncrementalScenario:
    """Tasks of disjoint classes over ``labels`` (the training labels), in a seeded class order.

    ``classes_per_task`` is one size for every task or a list of sizes (its sum must be the number
    of classes); ``base_classes`` puts that many classes in a larger first task and cuts the rest
    by ``classes_per_task``. ``task_classes[t]`` lists task ``t``'s original class ids.
    """

    def __init__(
        self,
        labels: Sequence[int] | np.ndarray,
        classes_per_task: int | Sequence[int],
        seed: int | None = 0,
        base_classes: int | None = None,
    ) -> None:
        self.labels = np.asarray(labels, dtype=np.int64)
        self.seed = seed
        self.class_order = class_order(self.labels.tolist(), seed)
        n = len(self.class_order)
        sizes = _task_sizes(n, classes_per_task, base_classes)
        bounds = np.cumsum([0, *sizes])
        self.task_classes: list[list[int]] = [
            self.class_order[bounds[t] : bounds[t + 1]] for t in range(len(sizes))
        ]
        self._position = {c: i for i, c in enumerate(self.class_order)}

    @property
    def num_tasks(self) -> int:
        return len(self.task_classes)

    @property
    def num_classes(self) -> int:
        return len(self.class_order)

    def task_sizes(self) -> list[int]:
        """Number of classes in each task (the head block sizes)."""
        return [len(c) for c in self.task_classes]

    def known_classes(self, task: int) -> int:
        """How many classes were seen before ``task`` (the first output of its head block)."""
        return sum(self.task_sizes()[:task])

    def seen_classes(self, task: int) -> list[int]:
        """Original ids of every class of tasks ``0..task``."""
        return [c for t in range(task + 1) for c in self.task_classes[t]]

    def remap(self, labels: Sequence[int] | np.ndarray) -> np.ndarray:
        """Original class ids → positions in the class order (the single head's output index)."""
        return np.asarray([self._position[int(y)] for y in labels], dtype=np.int64)

    def task_of(self, labels: Sequence[int] | np.ndarray) -> np.ndarray:
        """The task each label's class belongs to."""
        owner = {c: t for t, cs in enumerate(self.task_classes) for c in cs}
        return np.asarray([owner[int(y)] for y in labels], dtype=np.int64)

    def task_indices(
        self, task: int, labels: Sequence[int] | np.ndarray | None = None
    ) -> np.ndarray:
        """Indices into ``labels`` (default: the training labels) of task ``task``'s classes."""
        y = self.labels if labels is None else np.asarray(labels)
        return np.flatnonzero(np.isin(y, self.task_classes[task]))

    def seen_indices(self, task: int, labels: Sequence[int] | np.ndarray) -> np.ndarray:
        """Indices into ``labels`` (e.g. test labels) of every class seen through ``task``."""
        return np.flatnonzero(np.isin(np.asarray(labels), self.seen_classes(task)))


class FewShotScenario(ClassIncrementalScenario):
    """A base session of ``base_classes`` classes, then ``way``-way ``shot``-shot sessions.

    The base session keeps all its training examples; each later session keeps ``shot`` training
    examples per class, drawn once by the seed. Test-time indices are not subsampled.
    """

    def __init__(
        self,
        labels: Sequence[int] | np.ndarray,
        base_classes: int,
        way: int,
        shot: int,
        seed: int | None = 0,
    ) -> None:
        super().__init__(labels, way, seed, base_classes=base_classes)
        self.way, self.shot = way, shot
        rng = np.random.default_rng(0 if seed is None else seed)
        self._shots: dict[int, np.ndarray] = {}
        for task in range(1, self.num_tasks):
            for c in self.task_classes[task]:
                members = np.flatnonzero(self.labels == c)
                if len(members) < shot:
                    raise ValueError(
                        f"class {c} has {len(members)} training examples < shot={shot}"
                    )
                self._shots[c] = np.sort(rng.choice(members, size=shot, replace=False))

    def task_indices(
        self, task: int, labels: Sequence[int] | np.ndarray | None = None
    ) -> np.ndarray:
        """Training indices of session ``task``: all for the base session, ``shot`` per class
        after. With explicit ``labels`` (test data) nothing is subsampled."""
        if labels is not None or task == 0:
            return super().task_indices(task, labels)
        return np.sort(np.concatenate([self._shots[c] for c in self.task_classes[task]]))


def _task_sizes(
    n: int, classes_per_task: int | Sequence[int], base_classes: int | None
) -> list[int]:
    if isinstance(classes_per_task, int | np.integer):
        per = int(classes_per_task)
        first = per if base_classes is None else int(base_classes)
        if per <= 0 or first <= 0 or first > n or (n - first) % per:
            raise ValueError(
                f"{n} classes cannot be cut into a first task of {first} and tasks of {per}"
            )
        sizes = [first] + [per] * ((n - first) // per)
    else:
        sizes = [int(s) for s in classes_per_task]
        if base_classes is not None:
            sizes = [int(base_classes), *sizes]
        if sum(sizes) != n or min(sizes) <= 0:
            raise ValueError(f"task sizes {sizes} do not cover the {n} classes")
    return sizes
