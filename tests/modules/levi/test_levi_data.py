"""The OOD split of 20 Newsgroups: super-category labels, no newsgroup on both sides, fixed draw."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from modules.levi.data import check_groups, newsgroups_ood

CONF = OmegaConf.to_container(OmegaConf.load("conf/data/newsgroups_ood.yaml"))
GROUPS = CONF["groups"]


@pytest.fixture(scope="module")
def split():
    return newsgroups_ood(
        GROUPS, train_per_group=6, val_per_group=2, test_per_group=3, max_words=20
    )


def test_no_newsgroup_is_both_in_and_out_of_distribution(split):
    id_side = set(split.train.groups) | set(split.val.groups) | set(split.id_test.groups)
    ood_side = set(split.ood_test.groups)
    assert id_side and ood_side and not id_side & ood_side
    assert id_side == {g for gs in split.id_groups.values() for g in gs}
    assert ood_side == {g for gs in split.ood_groups.values() for g in gs}


def test_labels_are_the_super_categories(split):
    assert split.label_names == ["comp", "rec", "sci", "talk"]
    for part in (split.train, split.val, split.id_test, split.ood_test):
        assert part.label_names == split.label_names
        for label, group in zip(part.labels, part.groups, strict=True):
            assert group.split(".")[0] == part.label_names[label]
        assert set(part.labels) == {0, 1, 2, 3}


def test_sizes_truncation_and_a_fixed_draw(split):
    assert len(split.train) == 9 * 6 and len(split.val) == 9 * 2
    assert len(split.id_test) == 9 * 3 and len(split.ood_test) == 8 * 3
    assert not set(split.train.texts) & set(split.val.texts)
    assert max(len(t.split()) for t in split.texts()) <= 20
    again = newsgroups_ood(
        GROUPS, train_per_group=6, val_per_group=2, test_per_group=3, max_words=20
    )
    assert again.ood_test.texts == split.ood_test.texts and again.train.texts == split.train.texts


def test_bad_group_settings_are_refused():
    with pytest.raises(ValueError, match="both"):
        check_groups({"sci": {"id": ["sci.med"], "ood": ["sci.med"]}})
    with pytest.raises(ValueError, match="at least one 'ood'"):
        check_groups({"sci": {"id": ["sci.med"], "ood": []}})
    with pytest.raises(ValueError, match="unknown categories"):
        newsgroups_ood({"sci": {"id": ["sci.medicine"], "ood": ["sci.space"]}}, 2, 1, 1)
