"""Train / held-out / test splits of a text classification dataset, and their data loaders.

:func:`newsgroups_splits`: 20 Newsgroups (bundled, :mod:`modules.data.newsgroups`); the training
and held-out documents are disjoint seeded samples per class of the "bydate" training file, the
test documents a seeded sample per class of its test file. The sampling seed is fixed by the
config (not the trial seed), so every trial of a sweep sees the same documents.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader

from modules.data.newsgroups import TextDataset, load_newsgroups

SPLITS = ("train", "heldout", "test")


@dataclass
class TextSplits:
    """Three labelled text sets with one label space, and the batch size of their loaders."""

    train: TextDataset
    heldout: TextDataset
    test: TextDataset
    batch_size: int = 32

    @property
    def num_classes(self) -> int:
        return len(self.train.label_names)

    def loader(self, split: str, shuffle: bool = False) -> DataLoader:
        """Batches ``(texts, labels)`` of ``split``; shuffling follows torch's global RNG."""
        data: TextDataset = getattr(self, split)
        pairs = list(zip(data.texts, data.labels, strict=True))
        return DataLoader(pairs, batch_size=self.batch_size, shuffle=shuffle, collate_fn=collate)


def collate(batch: list[tuple[str, int]]) -> tuple[list[str], torch.Tensor]:
    texts, labels = zip(*batch, strict=True)
    return list(texts), torch.tensor(labels, dtype=torch.long)


def split_per_class(
    data: TextDataset, first: int, second: int, seed: int
) -> tuple[TextDataset, TextDataset]:
    """Two disjoint seeded samples of ``first`` and ``second`` documents per class."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(data.labels)
    a, b = [], []
    for label in range(len(data.label_names)):
        members = rng.permutation(np.flatnonzero(labels == label))
        if len(members) < first + second:
            raise ValueError(
                f"class {data.label_names[label]!r} has {len(members)} documents, "
                f"{first + second} asked"
            )
        a.extend(members[:first].tolist())
        b.extend(members[first : first + second].tolist())
    return _pick(data, sorted(a)), _pick(data, sorted(b))


def _pick(data: TextDataset, rows: list[int]) -> TextDataset:
    return TextDataset([data.texts[i] for i in rows], [data.labels[i] for i in rows], data.label_names)


def newsgroups_splits(
    train_per_class: int = 20,
    heldout_per_class: int = 10,
    test_per_class: int = 20,
    categories: Iterable[str] | None = None,
    seed: int = 0,
    batch_size: int = 32,
) -> TextSplits:
    """20 Newsgroups: disjoint train / held-out samples of the training file, a test sample."""
    cats = list(categories) if categories is not None else None
    pool = load_newsgroups("train", categories=cats, seed=seed)
    train, heldout = split_per_class(pool, train_per_class, heldout_per_class, seed)
    test = load_newsgroups("test", limit_per_class=test_per_class, seed=seed, categories=cats)
    return TextSplits(train, heldout, test, batch_size)
