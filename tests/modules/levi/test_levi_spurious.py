"""The spurious-mark split: marks agree with the label as configured in distribution and never out
of distribution, on the same test documents; bad marks are refused."""

from __future__ import annotations

import numpy as np
import pytest
from omegaconf import OmegaConf

from modules.levi.spurious import check_marks, mark_classes, newsgroups_spurious

CONF = OmegaConf.to_container(OmegaConf.load("conf/data/newsgroups_spurious.yaml"))
SETTINGS = {k: CONF[k] for k in ("groups", "marks")}


def _marked(part, split, marks):
    """Per document: the class whose mark it starts with."""
    by_word = {marks[name]: c for c, name in enumerate(split.label_names)}
    return np.array([by_word[t.split()[0]] for t in part.texts])


@pytest.fixture(scope="module")
def split():
    return newsgroups_spurious(
        **SETTINGS, agree=0.75, train_per_group=20, val_per_group=2, test_per_group=8, max_words=12
    )


def test_marks_agree_in_distribution_and_never_out_of_it(split):
    agree = [
        (_marked(p, split, SETTINGS["marks"]) == p.labels).mean()
        for p in (split.train, split.id_test)
    ]
    assert all(0.6 < a < 0.9 for a in agree)
    ood = _marked(split.ood_test, split, SETTINGS["marks"])
    assert not (ood == np.array(split.ood_test.labels)).any()
    assert set(ood) == {0, 1, 2, 3}


def test_ood_test_is_the_id_test_re_marked(split):
    assert split.ood_test.labels == split.id_test.labels
    assert split.ood_test.groups == split.id_test.groups
    for a, b in zip(split.id_test.texts, split.ood_test.texts, strict=True):
        assert a.split()[1:] == b.split()[1:] and len(a.split()) <= 12
    assert not set(split.train.texts) & set(split.val.texts)
    again = newsgroups_spurious(
        **SETTINGS, agree=0.75, train_per_group=20, val_per_group=2, test_per_group=8, max_words=12
    )
    assert again.train.texts == split.train.texts and again.ood_test.texts == split.ood_test.texts


def test_mark_classes_follow_agree():
    rng = np.random.default_rng(0)
    labels = np.arange(4).repeat(500).tolist()
    always = mark_classes(labels, 4, 1.0, rng)
    assert always == labels
    never = np.array(mark_classes(labels, 4, 0.0, rng))
    assert not (never == labels).any() and set(never) == {0, 1, 2, 3}
    assert 0.85 < (np.array(mark_classes(labels, 4, 0.9, rng)) == labels).mean() < 0.95


def test_bad_marks_are_refused():
    names = ["comp", "rec"]
    with pytest.raises(ValueError, match="no mark"):
        check_marks(names, {"comp": "so"}, 0.9)
    with pytest.raises(ValueError, match="distinct single words"):
        check_marks(names, {"comp": "so", "rec": "so"}, 0.9)
    with pytest.raises(ValueError, match="distinct single words"):
        check_marks(names, {"comp": "so", "rec": "two words"}, 0.9)
    with pytest.raises(ValueError, match="agree"):
        check_marks(names, {"comp": "so", "rec": "well"}, 0.5)
