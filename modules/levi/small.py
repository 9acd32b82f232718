"""The small task-specific model trained from scratch: a bag of hashed word n-grams (fastText,
Joulin et al., 2017) — n-gram embeddings averaged, then a ReLU layer. It sees the same (truncated)
text as the pretrained model; what it learns is specific to the training newsgroups' vocabulary,
the "different view" LEVI pairs with the pretrained features."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import torch
from torch import nn

PAD = 0


def ngram_ids(text: str, n: int = 2, buckets: int = 2**14) -> list[int]:
    """Hashed ids (``1..buckets-1``; 0 is padding) of the word 1- to ``n``-grams of ``text``."""
    words = text.split()
    ids = []
    for size in range(1, n + 1):
        for i in range(len(words) - size + 1):
            gram = " ".join(words[i : i + size])
            ids.append(1 + zlib.crc32(gram.encode("utf-8")) % (buckets - 1))
    return ids


def encode_ngrams(texts: Sequence[str], n: int = 2, buckets: int = 2**14) -> torch.Tensor:
    """``[N, M]`` n-gram ids of ``texts``, right-padded with 0 to the longest (at least 1)."""
    rows = [ngram_ids(t, n, buckets) for t in texts]
    width = max([len(r) for r in rows] + [1])
    out = torch.full((len(rows), width), PAD, dtype=torch.long)
    for i, row in enumerate(rows):
        out[i, : len(row)] = torch.tensor(row, dtype=torch.long)
    return out


class NgramModel(nn.Module):
    """Hashed n-gram ids ``[B, M]`` → representation ``[B, dim]`` (mean embedding, then ReLU)."""

    def __init__(
        self,
        buckets: int = 2**14,
        embed_dim: int = 32,
        dim: int = 64,
        n: int = 2,
        init_std: float = 0.01,
    ) -> None:
        super().__init__()
        self.buckets, self.n, self.dim = buckets, n, dim
        self.embed = nn.EmbeddingBag(buckets, embed_dim, mode="mean", padding_idx=PAD)
        with torch.no_grad():  # small, as fastText: N(0, 1) rows drown the signal in noise
            self.embed.weight.normal_(0.0, init_std)
            self.embed.weight[PAD] = 0.0
        self.proj = nn.Sequential(nn.Linear(embed_dim, dim), nn.ReLU())

    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        """The model's input for ``texts`` (hashing uses this model's ``n`` and ``buckets``)."""
        return encode_ngrams(texts, self.n, self.buckets)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.proj(self.embed(ids))
