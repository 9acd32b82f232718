"""The Lee corpus from gensim's test data: 50 documents, 1,225 judged pairs."""

from __future__ import annotations

import pytest

from modules.data.bundled import DatasetMissingError
from modules.data.lee import load_lee


def test_lee_has_50_documents_and_the_upper_triangle_of_judgements():
    data = load_lee()
    assert len(data.documents) == 50 and len(data.pairs) == 50 * 49 // 2
    assert all(i < j for i, j, _ in data.pairs)
    assert all(0.0 <= s <= 1.0 for _, _, s in data.pairs)
    assert data.documents[0].startswith("The national executive of the strife-torn Democrats")


def test_missing_package_names_the_install(tmp_path):
    with pytest.raises(DatasetMissingError, match="pip install --no-deps gensim"):
        load_lee(root=tmp_path)
