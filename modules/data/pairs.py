"""Triplet loaders for users with their own training data: ``{query, positive, negative}`` rows
from a local JSONL file or a Hugging Face dataset (as in Tang & Yang, 2024, arXiv 2409.02727,
which trains on such triplets)."""

from __future__ import annotations

import json
from pathlib import Path

from modules.data.stsb import Triplet

FIELDS = ("query", "positive", "negative")


def load_triplets_jsonl(path: str | Path) -> list[Triplet]:
    """One :class:`Triplet` per non-blank line of a JSONL file; a bad row raises ``ValueError``
    naming the file and line."""
    path = Path(path)
    triplets: list[Triplet] = []
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}:{line_no}: not valid JSON ({err.msg})") from err
            if not isinstance(row, dict):
                raise ValueError(f"{path}:{line_no}: expected a JSON object with keys {FIELDS}")
            missing = [k for k in FIELDS if not isinstance(row.get(k), str)]
            if missing:
                raise ValueError(f"{path}:{line_no}: missing or non-string field(s) {missing}")
            triplets.append(Triplet(row["query"], row["positive"], row["negative"]))
    return triplets


def load_triplets_hf(
    dataset_id: str,
    split: str = "train",
    query: str = "query",
    positive: str = "positive",
    negative: str = "negative",
    limit: int | None = None,
) -> list[Triplet]:
    """Triplets from a Hugging Face dataset (``datasets`` is imported here, only when used).

    ``query``/``positive``/``negative`` name the dataset's columns. Raises ``ImportError`` when
    ``datasets`` is not installed and ``RuntimeError`` when the dataset cannot be loaded (offline,
    unknown id), each with a message saying what to do.
    """
    try:
        from datasets import load_dataset
    except ImportError as err:
        raise ImportError(
            "load_triplets_hf needs the 'datasets' package: pip install datasets "
            "(or export the triplets to JSONL and use load_triplets_jsonl)"
        ) from err
    selector = split if limit is None else f"{split}[:{limit}]"
    try:
        data = load_dataset(dataset_id, split=selector)
    except Exception as err:  # offline, unknown id, bad split: one clear message
        raise RuntimeError(
            f"could not load Hugging Face dataset {dataset_id!r} (split {selector!r}): {err}. "
            "Without network access, export the triplets to JSONL and use load_triplets_jsonl."
        ) from err
    columns = set(data.column_names)
    missing = [c for c in (query, positive, negative) if c not in columns]
    if missing:
        raise ValueError(
            f"dataset {dataset_id!r} has no column(s) {missing}; has {sorted(columns)}"
        )
    return [Triplet(r[query], r[positive], r[negative]) for r in data]
