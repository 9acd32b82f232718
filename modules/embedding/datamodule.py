"""Training triplets (query, positive, hard negative) and STS-B dev pairs as a Lightning data
module. Batches are dicts of text lists: the module looks texts up in the feature cache or runs the
backbone, so one data module serves every fine-tuning regime."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import lightning as L
import numpy as np
from torch.utils.data import DataLoader


def collate(rows: list[tuple[str, str, str]]) -> dict[str, list[str]]:
    q, p, n = zip(*rows, strict=True)
    return {"query": list(q), "positive": list(p), "negative": list(n)}


def _rows(triplets: Sequence[Any]) -> list[tuple[str, str, str]]:
    return [(t.query, t.positive, t.negative) for t in triplets]


class TripletDataModule(L.LightningDataModule):
    """``train`` / ``dev`` triplets and ``dev_pairs`` (s1, s2, gold score) for validation."""

    def __init__(
        self,
        train: Sequence[Any],
        dev: Sequence[Any] = (),
        dev_pairs: Sequence[tuple[str, str, float]] = (),
        batch_size: int = 32,
    ) -> None:
        super().__init__()
        self.train_rows = _rows(train)
        self.dev_rows = _rows(dev)
        self.dev_pairs = list(dev_pairs)
        self.batch_size = batch_size

    def train_texts(self) -> list[str]:
        """Every text of the training triplets (what feature normalization is fitted on)."""
        return list(dict.fromkeys(t for r in self.train_rows for t in r))

    def texts(self) -> list[str]:
        """Every text training and validation read (for the frozen feature cache)."""
        rows = [*self.train_rows, *self.dev_rows]
        pairs = [t for p in self.dev_pairs for t in p[:2]]
        return list(dict.fromkeys([*(t for r in rows for t in r), *pairs]))

    def train_dataloader(self) -> DataLoader:
        return DataLoader(
            self.train_rows,
            batch_size=self.batch_size,
            shuffle=True,
            collate_fn=collate,
            drop_last=len(self.train_rows) > self.batch_size,
        )

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.dev_rows, batch_size=self.batch_size, collate_fn=collate)

    @classmethod
    def from_stsb(
        cls,
        train_limit: int | None = 600,
        dev_limit: int | None = 200,
        dev_pairs: int | None = 300,
        batch_size: int = 32,
        positive_threshold: float = 4.0,
        negative_threshold: float = 2.0,
        split_seed: int = 0,
        documents: Sequence[Any] | None = None,
    ) -> TripletDataModule:
        """STS-B train triplets (pairs scored >= 4 are positives, low-scored pairs give hard
        negatives), dev triplets for ``val/loss`` and dev pairs for ``val/sts_spearman``.
        ``documents``: more training triplets (e.g. document crops, ``modules.data.crops``),
        added to the STS-B ones and shuffled with them by the training loader; ``None``: none."""
        from modules.data.stsb import load_stsb, training_triplets

        train = training_triplets(
            load_stsb("train"), positive_threshold, negative_threshold, seed=split_seed
        )
        dev_all = load_stsb("dev")
        dev = training_triplets(dev_all, positive_threshold, negative_threshold, seed=split_seed)
        return cls(
            [*_head(train, train_limit), *(documents or ())],
            _head(dev, dev_limit),
            stsb_dev_pairs(dev_all, dev_pairs, split_seed),
            batch_size,
        )

    @classmethod
    def from_jsonl(
        cls,
        path: str,
        dev_pairs: int | None = 300,
        batch_size: int = 32,
        split_seed: int = 0,
        train_limit: int | None = None,
    ) -> TripletDataModule:
        """Triplets from a local JSONL file ({query, positive, negative} rows); STS-B dev pairs
        for validation."""
        from modules.data.pairs import load_triplets_jsonl
        from modules.data.stsb import load_stsb

        return cls(
            _head(load_triplets_jsonl(path), train_limit),
            (),
            stsb_dev_pairs(load_stsb("dev"), dev_pairs, split_seed),
            batch_size,
        )

    @classmethod
    def from_hf(
        cls,
        dataset_id: str,
        split: str = "train",
        dev_pairs: int | None = 300,
        batch_size: int = 32,
        split_seed: int = 0,
        train_limit: int | None = None,
    ) -> TripletDataModule:
        """Triplets from a Hugging Face dataset id (needs the network or the HF cache)."""
        from modules.data.pairs import load_triplets_hf
        from modules.data.stsb import load_stsb

        return cls(
            _head(load_triplets_hf(dataset_id, split), train_limit),
            (),
            stsb_dev_pairs(load_stsb("dev"), dev_pairs, split_seed),
            batch_size,
        )


def _head(items: Sequence[Any], limit: int | None) -> list[Any]:
    return list(items) if limit is None else list(items)[:limit]


def stsb_dev_pairs(
    pairs: Sequence[Any], limit: int | None, seed: int
) -> list[tuple[str, str, float]]:
    """A fixed random subsample of scored pairs as (s1, s2, score)."""
    order = np.random.default_rng(seed).permutation(len(pairs))
    if limit is not None:
        order = order[:limit]
    return [(pairs[i].sentence1, pairs[i].sentence2, float(pairs[i].score)) for i in sorted(order)]
