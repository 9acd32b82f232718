"""The Lee document-similarity corpus (Lee, Pincombe & Welsh, 2005, "An Empirical Evaluation of
Models of Text Document Similarity"), as shipped in gensim's test data: 50 short news documents
(``lee.cor``, one per line, Latin-1) and the mean human similarity of every pair
(``similarities0-1.txt``, a 50 x 50 matrix in [0, 1]; the upper triangle, 1,225 pairs, is the
benchmark, as gensim's own ``test_lee.py`` reads it). Read as data files, without importing gensim.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from modules.data.bundled import find_bundled

PIP_NAME = "gensim"
FOLDER = "gensim/test/test_data"


@dataclass
class DocumentSimilarity:
    """``documents`` and ``pairs`` ``(i, j, human similarity)`` over them."""

    documents: list[str]
    pairs: list[tuple[int, int, float]]


def load_lee(root: Path | None = None) -> DocumentSimilarity:
    """The 50 Lee documents and the 1,225 human-judged pairs (upper triangle, i < j)."""
    roots = None if root is None else [root]
    corpus = find_bundled(f"{FOLDER}/lee.cor", PIP_NAME, roots=roots)
    matrix_file = find_bundled(f"{FOLDER}/similarities0-1.txt", PIP_NAME, roots=roots)
    documents = [
        line.strip() for line in corpus.read_text(encoding="latin1").splitlines() if line.strip()
    ]
    matrix = np.loadtxt(matrix_file)
    if matrix.shape != (len(documents), len(documents)):
        raise ValueError(
            f"{matrix_file}: a {matrix.shape} matrix for {len(documents)} documents"
        )
    rows, cols = np.triu_indices(len(documents), k=1)
    pairs = [(int(i), int(j), float(matrix[i, j])) for i, j in zip(rows, cols, strict=True)]
    return DocumentSimilarity(documents, pairs)
