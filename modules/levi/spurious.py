"""A spurious-feature shift on 20 Newsgroups: a label-correlated artefact word that holds in
distribution and is flipped out of distribution (a synthetic spurious correlation in the style of
Sagawa et al., 2020).

The label is the super-category, as in :mod:`modules.levi.data`, on the same newsgroups for every
part. Each document starts with a *mark*, one word per class (by default function words such as
``so`` or ``well``, which a pretrained sentence encoder treats as noise). In training, validation
and the ID test the mark is the document's own class's with probability ``agree`` and another
class's otherwise, so the mark alone is right ``agree`` of the time; in the OOD test every mark
belongs to another class. The OOD test holds *the same documents* as the ID test: only the mark
differs, so ``gap`` = ID - OOD measures how much a model leans on the mark instead of the text.
A frozen encoder with a linear probe barely sees the mark; fine-tuning can learn to.

Marks are drawn from a generator seeded by ``seed`` (not the trial's seed), like the documents.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from modules.levi.data import GroupedTexts, OODSplit, draw_groups, split_off


def check_marks(names: Sequence[str], marks: Mapping[str, str], agree: float) -> None:
    """One distinct one-word mark per super-category, and ``agree`` a probability above chance."""
    missing = sorted(set(names) - set(marks))
    if missing:
        raise ValueError(f"no mark for super-categories {missing}")
    words = [marks[n] for n in names]
    if len(set(words)) != len(words) or any(len(w.split()) != 1 for w in words):
        raise ValueError(f"marks must be distinct single words, got {words}")
    if not 1 / len(names) < agree <= 1:
        raise ValueError(f"agree must be in (1/{len(names)}, 1], got {agree}")


def mark_classes(
    labels: Sequence[int], n_classes: int, agree: float, rng: np.random.Generator
) -> list[int]:
    """The class whose mark each document carries: its own with probability ``agree``, otherwise
    one of the other classes, uniformly (``agree = 0``: always another class)."""
    own = rng.random(len(labels)) < agree
    other = rng.integers(1, n_classes, size=len(labels))
    return [
        y if keep else (y + k) % n_classes for y, keep, k in zip(labels, own, other, strict=True)
    ]


def add_marks(
    data: GroupedTexts, names: Sequence[str], marks: Mapping[str, str], agree: float,
    rng: np.random.Generator, max_words: int,
) -> GroupedTexts:  # fmt: skip
    """``data`` with each text starting with its mark (see :func:`mark_classes`), truncated."""
    classes = mark_classes(data.labels, len(names), agree, rng)
    texts = [
        " ".join(f"{marks[names[c]]} {text}".split()[:max_words])
        for c, text in zip(classes, data.texts, strict=True)
    ]
    return replace(data, texts=texts)


def newsgroups_spurious(
    groups: Mapping[str, Sequence[str]],
    marks: Mapping[str, str],
    agree: float = 0.9,
    train_per_group: int = 150,
    val_per_group: int = 20,
    test_per_group: int = 100,
    max_words: int = 64,
    seed: int = 0,
    root: Path | None = None,
) -> OODSplit:
    """The spurious-mark split (see the module docstring).

    ``groups``: ``{super_category: [newsgroup, ...]}``; ``marks``: ``{super_category: word}``.
    """
    names = sorted(groups)
    check_marks(names, marks, agree)
    chosen = {s: list(groups[s]) for s in names}
    pool = draw_groups(
        "train", chosen, names, train_per_group + val_per_group, seed, max_words, root
    )
    train, val = split_off(pool, val_per_group)
    test = draw_groups("test", chosen, names, test_per_group, seed, max_words, root)
    rng = np.random.default_rng(seed)
    mark = {"names": names, "marks": marks, "rng": rng, "max_words": max_words}
    return OODSplit(
        train=add_marks(train, agree=agree, **mark),
        val=add_marks(val, agree=agree, **mark),
        id_test=add_marks(test, agree=agree, **mark),
        ood_test=add_marks(test, agree=0.0, **mark),
        id_groups=chosen,
        ood_groups=chosen,
    )
