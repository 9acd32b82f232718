"""An out-of-distribution text benchmark from the sub-groups of 20 Newsgroups (a subpopulation
shift in the style of BREEDS, Santurkar et al., 2021).

The label is the super-category (``comp``, ``rec``, ``sci``, ``talk``). Each super-category's
newsgroups are split once, by config, into *in-distribution* groups (training, validation and the
ID test) and *held-out* groups (the OOD test only): a model must recognise, say, ``sci.med`` as
science after seeing only ``sci.crypt`` and ``sci.electronics``. The default split
(``conf/data/newsgroups_ood.yaml``)::

    comp  ID graphics, os.ms-windows.misc, sys.ibm.pc.hardware   OOD sys.mac.hardware, windows.x
    rec   ID autos, sport.baseball                               OOD motorcycles, sport.hockey
    sci   ID crypt, electronics                                  OOD med, space
    talk  ID politics.guns, politics.mideast                     OOD politics.misc, religion.misc

(``alt.atheism``, ``misc.forsale`` and ``soc.religion.christian`` have no super-category and are
left out.) Training and validation documents come from the bydate train file, both test sets from
the test file. Documents are drawn per newsgroup with a fixed ``seed`` that does not depend on the
trial's seed, so every trial sees the same examples and per-example scores pair across trials.
Every document is truncated to its first ``max_words`` words: the pretrained and the small model
see the same input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from modules.data.newsgroups import TextDataset, load_newsgroups


@dataclass
class GroupedTexts(TextDataset):
    """A :class:`TextDataset` whose labels are super-categories, with each text's newsgroup."""

    groups: list[str] | None = None


@dataclass
class OODSplit:
    """Training, validation and ID test on the in-distribution newsgroups; OOD test on the held-out
    ones; ``label_names`` are the super-categories, ``id_groups``/``ood_groups`` the newsgroups."""

    train: GroupedTexts
    val: GroupedTexts
    id_test: GroupedTexts
    ood_test: GroupedTexts
    id_groups: dict[str, list[str]]
    ood_groups: dict[str, list[str]]

    @property
    def label_names(self) -> list[str]:
        return self.train.label_names

    def texts(self) -> list[str]:
        """Every text of every part (what a frozen feature cache must hold)."""
        return [*self.train.texts, *self.val.texts, *self.id_test.texts, *self.ood_test.texts]


def check_groups(groups: Mapping[str, Mapping[str, Sequence[str]]]) -> None:
    """Every super-category has ID and OOD newsgroups; no newsgroup is used twice."""
    seen: dict[str, str] = {}
    for sup, parts in groups.items():
        for part in ("id", "ood"):
            if not parts.get(part):
                raise ValueError(f"super-category {sup!r} needs at least one {part!r} newsgroup")
            for group in parts[part]:
                where = f"{sup}.{part}"
                if group in seen:
                    raise ValueError(f"newsgroup {group!r} is in both {seen[group]} and {where}")
                seen[group] = where


def draw_groups(
    split: str,
    groups: Mapping[str, Sequence[str]],
    names: list[str],
    per_group: int,
    seed: int,
    max_words: int,
    root: Path | None,
) -> GroupedTexts:
    """Up to ``per_group`` documents of each newsgroup of ``groups`` (super-category → newsgroups)
    from the bydate ``split`` file, labelled by super-category (index in ``names``), truncated."""
    wanted = [g for sup in names for g in groups[sup]]
    data = load_newsgroups(
        split, limit_per_class=per_group, seed=seed, categories=wanted, root=root
    )
    parent = {g: names.index(sup) for sup in names for g in groups[sup]}
    group_of = [data.label_names[label] for label in data.labels]
    return GroupedTexts(
        texts=[" ".join(t.split()[:max_words]) for t in data.texts],
        labels=[parent[g] for g in group_of],
        label_names=list(names),
        groups=group_of,
    )


def split_off(data: GroupedTexts, n_per_group: int) -> tuple[GroupedTexts, GroupedTexts]:
    """(rest, the first ``n_per_group`` documents of each newsgroup)."""
    taken: dict[str, int] = {}
    head, rest = [], []
    for i, g in enumerate(data.groups or []):
        (head if taken.get(g, 0) < n_per_group else rest).append(i)
        taken[g] = taken.get(g, 0) + 1

    def pick(rows: list[int]) -> GroupedTexts:
        return GroupedTexts(
            [data.texts[i] for i in rows],
            [data.labels[i] for i in rows],
            data.label_names,
            [data.groups[i] for i in rows],
        )

    return pick(rest), pick(head)


def newsgroups_ood(
    groups: Mapping[str, Mapping[str, Sequence[str]]],
    train_per_group: int = 150,
    val_per_group: int = 20,
    test_per_group: int = 100,
    max_words: int = 64,
    seed: int = 0,
    root: Path | None = None,
) -> OODSplit:
    """The ID/OOD split of 20 Newsgroups by super-category (see the module docstring).

    ``groups``: ``{super_category: {"id": [newsgroup, ...], "ood": [newsgroup, ...]}}``.
    """
    check_groups(groups)
    names = sorted(groups)
    id_groups = {s: list(groups[s]["id"]) for s in names}
    ood_groups = {s: list(groups[s]["ood"]) for s in names}
    pool = draw_groups(
        "train", id_groups, names, train_per_group + val_per_group, seed, max_words, root
    )
    train, val = split_off(pool, val_per_group)
    id_test = draw_groups("test", id_groups, names, test_per_group, seed, max_words, root)
    ood_test = draw_groups("test", ood_groups, names, test_per_group, seed, max_words, root)
    return OODSplit(train, val, id_test, ood_test, id_groups, ood_groups)
