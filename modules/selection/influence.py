"""The data influence model of MATES (Yu et al., NeurIPS 2024, Sec. 3.2): a pretrained text
encoder with a regression head, fine-tuned with MSE on the z-scored oracle losses of the probed
candidates; its held-out Spearman correlation says how well it ranks unseen candidates.

The paper fine-tunes BERT-base end to end. ``trainable_layers`` chooses how much trains here:
``-1`` the whole encoder (the paper), ``k > 0`` its top ``k`` layers, ``0`` the head only on the
frozen encoder's mean-pooled embeddings. The CPU default is ``0`` on the bundled all-MiniLM-L6-v2
(max 64 tokens): a frozen encoder embeds the pool once (cached on disk, shared by every trial and
stage), so each stage's fit and pool scoring take about a second, where fine-tuning even one
layer would re-encode the pool every stage, more than the stage's training costs on one core.
"""

from __future__ import annotations

import hashlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from scipy.stats import spearmanr
from torch import nn

Inputs = Any  # a tensor of frozen embeddings (trainable_layers == 0) or a list of texts


def load_encoder(source: str = "minilm_l6") -> tuple[nn.Module, Any]:
    """(encoder, tokenizer): ``minilm_l6`` is the bundled all-MiniLM-L6-v2; anything else is a
    Hugging Face id or a local folder (e.g. ``bert-base-uncased``, as in the paper)."""
    from transformers import AutoModel, AutoTokenizer

    if source == "minilm_l6":
        from modules.embedding.bundled import minilm_l6

        source = minilm_l6()
    return AutoModel.from_pretrained(source), AutoTokenizer.from_pretrained(source)


class InfluenceModel(nn.Module):
    """A text encoder (mean pooling) + an MLP regression head predicting a candidate's z-scored
    oracle reference loss (MATES's data influence model; BERT-base in the paper)."""

    def __init__(
        self,
        encoder: nn.Module,
        tokenizer: Any,
        trainable_layers: int = 0,
        max_length: int = 64,
        head_hidden: int = 128,
        batch_size: int = 32,
    ) -> None:
        super().__init__()
        self.encoder, self.tokenizer = encoder, tokenizer
        self.trainable_layers, self.max_length, self.batch_size = trainable_layers, max_length, batch_size
        dim = int(encoder.config.hidden_size)
        self.head = nn.Sequential(nn.Linear(dim, head_hidden), nn.GELU(), nn.Linear(head_hidden, 1))
        self._freeze()

    @property
    def frozen(self) -> bool:
        return self.trainable_layers == 0

    def _freeze(self) -> None:
        if self.trainable_layers < 0:
            return
        for param in self.encoder.parameters():
            param.requires_grad_(False)
        layers = self.encoder.encoder.layer
        for layer in layers[len(layers) - self.trainable_layers :] if self.trainable_layers else []:
            for param in layer.parameters():
                param.requires_grad_(True)

    def embed(self, texts: list[str]) -> torch.Tensor:
        """Mean-pooled encoder states of ``texts`` (with gradients where layers train)."""
        enc = self.tokenizer(
            list(texts), truncation=True, max_length=self.max_length, padding=True, return_tensors="pt"
        )
        states = self.encoder(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).to(states.dtype)
        return (states * mask).sum(1) / mask.sum(1).clamp(min=1)

    @torch.no_grad()
    def features(self, texts: list[str], progress: bool = False) -> Inputs:
        """What :meth:`forward` reads: frozen embeddings (computed here, in batches) or the texts."""
        if not self.frozen:
            return list(texts)
        self.encoder.eval()
        parts, started = [], time.monotonic()
        for start in range(0, len(texts), self.batch_size):
            parts.append(self.embed(texts[start : start + self.batch_size]))
            done = start + len(parts[-1])
            if progress and (len(parts) % 20 == 0 or done == len(texts)):
                print(f"[influence] embedded {done}/{len(texts)} in {time.monotonic() - started:.0f} s",
                      file=sys.stderr, flush=True)
        return torch.cat(parts) if parts else torch.zeros(0, self.head[0].in_features)

    def forward(self, inputs: Inputs) -> torch.Tensor:
        pooled = inputs if self.frozen else self.embed(inputs)
        return self.head(pooled).squeeze(-1)

    @torch.no_grad()
    def predict(self, inputs: Inputs) -> torch.Tensor:
        """Predictions for every input, in batches, ``(n,)``."""
        self.eval()
        parts = [self(_take(inputs, slice(s, s + 4 * self.batch_size)))
                 for s in range(0, len(inputs), 4 * self.batch_size)]
        return torch.cat(parts) if parts else torch.zeros(0)


def _take(inputs: Inputs, index: Any) -> Inputs:
    if isinstance(inputs, torch.Tensor):
        return inputs[index]
    if isinstance(index, slice):
        return inputs[index]
    return [inputs[int(i)] for i in index]


@dataclass
class InfluenceFit:
    """A fitted influence model and its held-out Spearman (predicted vs oracle)."""

    model: InfluenceModel
    spearman: float
    train_size: int
    val_size: int


def zscore(values: torch.Tensor) -> torch.Tensor:
    """``(v - mean) / std`` (std 1 when the values are constant)."""
    std = values.std()
    return (values - values.mean()) / (std if std > 0 else 1.0)


def fit_influence(
    model: InfluenceModel,
    inputs: Inputs,
    oracle: torch.Tensor,
    val_fraction: float = 0.2,
    epochs: int = 100,
    lr: float = 1e-3,
    encoder_lr: float = 5e-5,
    weight_decay: float = 0.01,
    seed: int = 0,
) -> InfluenceFit:
    """Fit ``model`` with MSE on the z-scored ``oracle`` losses of a training split; Spearman of
    predictions vs oracle on the held-out ``val_fraction``."""
    n = len(oracle)
    target = zscore(torch.as_tensor(oracle, dtype=torch.float32))
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_val = max(2, int(round(n * val_fraction))) if n >= 4 else 0
    val, train = order[:n_val], order[n_val:]
    groups = [{"params": list(model.head.parameters()), "lr": lr}]
    encoder_params = [p for p in model.encoder.parameters() if p.requires_grad]
    if encoder_params:
        groups.append({"params": encoder_params, "lr": encoder_lr})
    optimizer = torch.optim.AdamW(groups, weight_decay=weight_decay)
    gen = torch.Generator().manual_seed(seed + 1)
    for _ in range(epochs):
        model.train()
        for batch in torch.randperm(len(train), generator=gen).split(model.batch_size):
            rows = train[batch]
            loss = nn.functional.mse_loss(model(_take(inputs, rows)), target[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    rho = float("nan")
    if n_val >= 2:
        predicted = model.predict(_take(inputs, val)).numpy()
        rho = float(spearmanr(predicted, target[val].numpy()).statistic)
    return InfluenceFit(model, rho, len(train), n_val)


def cached_features(model: InfluenceModel, texts: list[str], cache_dir: str | Path, name: str) -> Inputs:
    """:meth:`InfluenceModel.features` of ``texts``, from ``cache_dir`` when the same encoder
    (``name``) already embedded the same texts (frozen encoders only; a file lock for concurrent
    trials)."""
    if not model.frozen:
        return model.features(texts)
    from filelock import FileLock

    digest = hashlib.sha1("\x00".join(texts).encode()).hexdigest()[:12]
    path = Path(cache_dir).expanduser() / f"influence-{name}-len{model.max_length}-{digest}.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        if not path.exists():
            features = model.features(texts, progress=True)
            partial = path.with_suffix(".partial")
            torch.save(features, partial)
            partial.rename(path)
    return torch.load(path, weights_only=True)

