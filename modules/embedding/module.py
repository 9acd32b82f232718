"""The LightningModule of the embedding study: pooler + projection head (+ backbone under LoRA or
full fine-tuning), trained with InfoNCE (``loss.info_nce``).

Texts are looked up in the frozen feature cache when it holds them (frozen regime), else run
through the backbone. Each validation epoch logs ``val/loss`` (InfoNCE on dev triplets) and
``val/sts_spearman`` (Spearman of cosine similarities on STS-B dev pairs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import lightning as L
import numpy as np
import torch
from scipy.stats import spearmanr

from modules.backbones.encode import encode_features
from modules.backbones.features import TokenFeatures
from modules.backbones.hf import Backbone
from modules.backbones.token_cache import FeatureCache
from modules.embedding.loss import info_nce
from modules.embedding.model import EmbeddingModel, ProjectionHead
from modules.embedding.poolers import Pooler


class EmbeddingModule(L.LightningModule):
    """``optimizer`` is a partial (``conf/optim``) taking the trainable parameters.

    ``val_pairs``: (sentence1, sentence2, gold score) for ``val/sts_spearman``.
    """

    def __init__(
        self,
        pooler: Pooler,
        backbone: Backbone | None = None,
        cache: FeatureCache | None = None,
        head_dim: int | None = None,
        temperature: float = 0.05,
        encode_batch_size: int = 64,
        optimizer: Callable[..., torch.optim.Optimizer] | None = None,
        val_pairs: Sequence[tuple[str, str, float]] = (),
    ) -> None:
        super().__init__()
        self.model = EmbeddingModel(pooler, ProjectionHead(pooler.output_dim, head_dim), backbone)
        self.cache = cache
        self.temperature = temperature
        self.encode_batch_size = encode_batch_size
        self.optimizer_factory = optimizer or torch.optim.AdamW
        self.val_pairs = list(val_pairs)
        self.strict_loading = False  # checkpoints leave out frozen backbone weights
        self._fixed: dict[str, torch.Tensor] = {}  # text -> pooled vector, see pooled_is_fixed

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        """Keep only what trains: frozen backbone weights (all of them in the frozen regime, the
        base weights under LoRA) are rebuilt from the backbone source, and the feature
        normalization's statistics are refitted before training, so neither is checkpointed."""
        frozen = {
            f"model.backbone.{name}"
            for name, p in (
                self.model.backbone.named_parameters() if self.model.backbone is not None else ()
            )
            if not p.requires_grad
        }
        state = checkpoint["state_dict"]
        for key in [k for k in state if k in frozen or k.startswith("model.pooler.normalizer.")]:
            del state[key]

    @property
    def backbone_frozen(self) -> bool:
        bb = self.model.backbone
        return bb is None or not any(p.requires_grad for p in bb.parameters())

    def features(self, texts: list[str]) -> TokenFeatures:
        if self.cache is not None and self.backbone_frozen and self.cache.covers(texts):
            feats = self.cache.lookup(texts)
            return TokenFeatures(
                *(
                    t.to(self.device)
                    for t in (feats.tokens, feats.mask, feats.layer_last, feats.layer_mean)
                )
            )
        return self.model.features(texts)

    @torch.no_grad()
    def fit_normalizer(self, texts: Sequence[str], batch_size: int | None = None) -> None:
        """Fit the pooler's feature normalization on ``texts`` (the training texts only)."""
        if self.model.pooler.normalizer.mode == "none":
            return
        was_training = self.training
        self.eval()
        size = batch_size or self.encode_batch_size
        texts = list(texts)
        batches = (self.features(texts[i : i + size]) for i in range(0, len(texts), size))
        self.model.pooler.fit_normalizer(f.to(torch.float32) for f in batches)
        self._fixed.clear()
        self.train(was_training)

    @property
    def pooled_is_fixed(self) -> bool:
        """Cached frozen features under a pooler with nothing to train (mean, EOS-last, ...): a
        text's pooled vector never changes, so it is pooled once and only the head trains."""
        pooler = self.model.pooler
        return (
            self.cache is not None
            and self.backbone_frozen
            and not any(p.requires_grad for p in pooler.parameters())
        )

    def embed(self, texts: list[str]) -> torch.Tensor:
        texts = list(texts)
        if self.pooled_is_fixed and self.cache.covers(texts):
            return self.model.head(self._fixed_pooled(texts))
        return self.model.embed(self.features(texts))

    @torch.no_grad()
    def _fixed_pooled(self, texts: list[str]) -> torch.Tensor:
        new = [t for t in dict.fromkeys(texts) if t not in self._fixed]
        for start in range(0, len(new), self.encode_batch_size):
            chunk = new[start : start + self.encode_batch_size]
            pooled = self.model.pooler(self.features(chunk).to(torch.float32))
            self._fixed.update(zip(chunk, pooled, strict=True))
        return torch.stack([self._fixed[t] for t in texts]).to(self.device)

    def _loss(self, batch: dict[str, list[str]]) -> torch.Tensor:
        q = self.embed(batch["query"])
        p = self.embed(batch["positive"])
        n = self.embed(batch["negative"]) if batch.get("negative") else None
        return info_nce(q, p, n, self.temperature)

    def training_step(self, batch, batch_idx):  # noqa: D102
        loss = self._loss(batch)
        self.log("train/loss", loss, on_epoch=True, on_step=False, batch_size=len(batch["query"]))
        return loss

    def validation_step(self, batch, batch_idx):  # noqa: D102
        loss = self._loss(batch)
        self.log("val/loss", loss, on_epoch=True, on_step=False, batch_size=len(batch["query"]))

    def on_validation_epoch_end(self) -> None:
        if self.val_pairs:
            self.log("val/sts_spearman", self.sts_spearman(self.val_pairs))

    def sts_spearman(self, pairs: Sequence[tuple[str, str, float]]) -> float:
        """Spearman correlation between cosine similarities and gold scores."""
        a = self.encode([p[0] for p in pairs])
        b = self.encode([p[1] for p in pairs])
        cosine = (a * b).sum(axis=1)
        return float(spearmanr(cosine, [p[2] for p in pairs]).statistic)

    @torch.no_grad()
    def encode(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        """L2-normalized embeddings ``[N, D]`` (float32), in the order of ``texts``. Texts not all
        in the feature cache run through the backbone, batched as ``backbone.packing`` says."""
        was_training = self.training
        self.eval()
        size = batch_size or self.encode_batch_size
        texts = list(texts)
        out = np.zeros((len(texts), self.model.head.linear.out_features), dtype=np.float32)
        for rows, feats in self._feature_batches(texts, size):
            out[rows] = self.model.embed(feats).float().cpu().numpy()
        self.train(was_training)
        return out

    def _feature_batches(
        self, texts: list[str], size: int
    ) -> Iterator[tuple[list[int], TokenFeatures]]:
        cached = self.cache is not None and self.backbone_frozen and self.cache.covers(texts)
        if cached or self.model.backbone is None:
            order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
            for start in range(0, len(texts), size):
                rows = order[start : start + size]
                yield rows, self.features([texts[i] for i in rows])
        else:
            yield from encode_features(self.model.backbone, texts, size)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return self.optimizer_factory([p for p in self.parameters() if p.requires_grad])
