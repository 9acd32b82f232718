from __future__ import annotations

import json
import sys
import types

import pytest

from modules.data.pairs import load_triplets_hf, load_triplets_jsonl
from modules.data.stsb import Triplet


def test_jsonl_rows(tmp_path) -> None:
    path = tmp_path / "t.jsonl"
    rows = [
        {"query": "q1", "positive": "p1", "negative": "n1"},
        {"query": "q2", "positive": "p2", "negative": "n2", "extra": 1},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    assert load_triplets_jsonl(path) == [Triplet("q1", "p1", "n1"), Triplet("q2", "p2", "n2")]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"query": "q", "positive": "p"}', r"t.jsonl:2: missing .*negative"),
        ("{not json", r"t.jsonl:2: not valid JSON"),
        ('["q", "p", "n"]', r"t.jsonl:2: expected a JSON object"),
    ],
)
def test_jsonl_bad_row_names_file_and_line(tmp_path, line: str, message: str) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"query": "q", "positive": "p", "negative": "n"}\n' + line + "\n")
    with pytest.raises(ValueError, match=message):
        load_triplets_jsonl(path)


def test_hf_loader_without_datasets(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "datasets", None)
    with pytest.raises(ImportError, match="pip install datasets"):
        load_triplets_hf("some/dataset")


def test_hf_loader_offline(monkeypatch) -> None:
    def load_dataset(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    with pytest.raises(RuntimeError, match="could not load Hugging Face dataset 'some/dataset'"):
        load_triplets_hf("some/dataset", limit=5)
