"""The data influence model of MATES (Yu et al., NeurIPS 2024, Sec. 3.2): a pretrained text
encoder with a regression head, fine-tuned with MSE on the z-scored oracle losses of the probed
candidates; its held-out Spearman correlation says how well it ranks unseen candidates.

The paper fine-tunes BERT-base end to end. ``trainable_layers`` chooses how much trains here:
``-1`` the whole encoder (the paper), ``k > 0`` its top ``k`` layers, ``0`` the head only on the
frozen encoder's mean-pooled embeddings. The CPU default is ``0`` on the bundled all-MiniLM-L6-v2
(max 64 tokens): a frozen encoder embeds the pool once (cached on disk, shared by every trial and
stage), so each stage only fits a small head, where fine-tuning even one layer would re-encode
the pool every stage, more than a stage's training costs on one core.
"""

from __future__ import annotations

import copy
import hashlib
import math
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
        from modules.backbones.bundled import minilm_l6

        source = minilm_l6()
    return AutoModel.from_pretrained(source), AutoTokenizer.from_pretrained(source)


class InfluenceModel(nn.Module):
    """A text encoder (mean pooling) + a regression head predicting a candidate's z-scored
    oracle reference loss (MATES's data influence model; BERT-base in the paper).

    ``head_hidden > 0``: an MLP head; ``0``: dropout + one linear layer, the official head
    (cxcscmu/MATES ``src/select_data/modeling_data_influence_model.py`` lines 16-22, 78-79).
    ``segments > 1`` reads ``segments * max_length`` tokens as that many windows, mean-pooled
    together (the official model reads 1,024 tokens as two 512-token halves, lines 58-76). Every
    input goes to the head's device and dtype."""

    def __init__(
        self,
        encoder: nn.Module,
        tokenizer: Any,
        trainable_layers: int = 0,
        max_length: int = 64,
        head_hidden: int = 128,
        batch_size: int = 32,
        segments: int = 1,
    ) -> None:
        super().__init__()
        self.encoder, self.tokenizer = encoder, tokenizer
        self.trainable_layers, self.max_length, self.batch_size = trainable_layers, max_length, batch_size
        self.segments = segments
        dim = int(encoder.config.hidden_size)
        if head_hidden > 0:
            self.head = nn.Sequential(nn.Linear(dim, head_hidden), nn.GELU(), nn.Linear(head_hidden, 1))
        else:
            dropout = float(getattr(encoder.config, "hidden_dropout_prob", 0.1))
            self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(dim, 1))
        self._freeze()

    @property
    def frozen(self) -> bool:
        return self.trainable_layers == 0

    @property
    def device(self) -> torch.device:
        return self.head[-1].weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.head[-1].weight.dtype

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
        length = self.max_length * self.segments
        enc = self.tokenizer(list(texts), truncation=True, max_length=length, return_tensors="pt",
                             padding="max_length" if self.segments > 1 else True)
        device = next(self.encoder.parameters()).device
        enc = {k: v.to(device) for k, v in enc.items()}
        rows = len(texts) * self.segments
        windows = {k: v.reshape(rows, -1) for k, v in enc.items()}
        hidden = self.encoder(**windows).last_hidden_state
        states = hidden.reshape(len(texts), -1, hidden.shape[-1])
        mask = enc["attention_mask"].unsqueeze(-1).to(states.dtype)
        return (states * mask).sum(1) / mask.sum(1).clamp(min=1)

    @torch.no_grad()
    def features(self, texts: list[str], progress: bool = False) -> Inputs:
        """What :meth:`forward` reads: frozen embeddings (computed here, in batches, returned on
        the CPU for caching) or the texts."""
        if not self.frozen:
            return list(texts)
        self.encoder.eval()
        parts, started = [], time.monotonic()
        for start in range(0, len(texts), self.batch_size):
            parts.append(self.embed(texts[start : start + self.batch_size]).float().cpu())
            done = start + len(parts[-1])
            if progress and (len(parts) % 20 == 0 or done == len(texts)):
                print(f"[influence] embedded {done}/{len(texts)} in {time.monotonic() - started:.0f} s",
                      file=sys.stderr, flush=True)
        return torch.cat(parts) if parts else torch.zeros(0, self.head[-1].in_features)

    def forward(self, inputs: Inputs) -> torch.Tensor:
        pooled = inputs.to(self.device) if self.frozen else self.embed(inputs)
        return self.head(pooled.to(self.dtype)).squeeze(-1)

    @torch.no_grad()
    def predict(self, inputs: Inputs) -> torch.Tensor:
        """Predictions for every input, in batches, ``(n,)``, as float32 on the CPU."""
        self.eval()
        parts = [self(_take(inputs, slice(s, s + 4 * self.batch_size))).float().cpu()
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
    """A fitted influence model and its held-out Spearman (predicted vs oracle) with a 95%
    interval; ``val_size`` held-out probes (every probe, out of fold, when cross-fitted)."""

    model: InfluenceModel
    spearman: float
    low: float
    high: float
    train_size: int
    val_size: int


def spearman_interval(rho: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """A 95% interval for a Spearman correlation on ``n`` pairs: Fisher's z with the
    Bonett-Wright variance ``(1 + rho^2 / 2) / (n - 3)`` (Psychometrika, 2000)."""
    if n <= 3 or not math.isfinite(rho):
        return float("nan"), float("nan")
    half = z * math.sqrt((1 + rho**2 / 2) / (n - 3))
    centre = math.atanh(max(min(rho, 0.999999), -0.999999))
    return math.tanh(centre - half), math.tanh(centre + half)


def zscore(values: torch.Tensor) -> torch.Tensor:
    """``(v - mean) / std`` (std 1 when the values are constant)."""
    std = values.std()
    return (values - values.mean()) / (std if std > 0 else 1.0)


def train_head(
    model: InfluenceModel,
    inputs: Inputs,
    oracle: torch.Tensor,
    rows: torch.Tensor,
    epochs: int,
    lr: float,
    encoder_lr: float,
    weight_decay: float,
    seed: int,
) -> None:
    """MSE on the oracle losses of ``rows``, z-scored with their own mean and std (as the official
    code, ``src/select_data/train_data_influence_model.py`` lines 38-39, 66)."""
    target = zscore(oracle[rows]).to(model.device)
    groups = [{"params": list(model.head.parameters()), "lr": lr}]
    encoder_params = [p for p in model.encoder.parameters() if p.requires_grad]
    if encoder_params:
        groups.append({"params": encoder_params, "lr": encoder_lr})
    optimizer = torch.optim.AdamW(groups, weight_decay=weight_decay)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        model.train()
        for batch in torch.randperm(len(rows), generator=gen).split(model.batch_size):
            loss = nn.functional.mse_loss(model(_take(inputs, rows[batch])).float(), target[batch].float())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()


def fit_influence(
    model: InfluenceModel,
    inputs: Inputs,
    oracle: torch.Tensor,
    val_fraction: float = 0.2,
    folds: int = 0,
    epochs: int = 100,
    lr: float = 1e-3,
    encoder_lr: float = 5e-5,
    weight_decay: float = 0.01,
    seed: int = 0,
) -> InfluenceFit:
    """Fit ``model`` to the ``oracle`` losses and measure its held-out Spearman: with
    ``folds >= 2`` every probe is predicted by a copy fitted without its fold (cross-fitting, so
    the Spearman is over all probes), then ``model`` is fitted on all of them; otherwise a random
    ``val_fraction`` is held out and ``model`` fitted on the rest (the official split,
    ``train_data_influence_model.py`` line 20, holds out 10%)."""
    n = len(oracle)
    oracle = torch.as_tensor(oracle, dtype=torch.float32).cpu()
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    args = dict(epochs=epochs, lr=lr, encoder_lr=encoder_lr, weight_decay=weight_decay)
    predicted = torch.full((n,), float("nan"))
    if folds >= 2 and n >= 2 * folds:
        parts = order.tensor_split(folds)
        for k, held in enumerate(parts):
            fold_model = copy.deepcopy(model)
            train = torch.cat([p for j, p in enumerate(parts) if j != k])
            train_head(fold_model, inputs, oracle, train, seed=seed + 1 + k, **args)
            predicted[held] = fold_model.predict(_take(inputs, held))
        val, train = order, order
    else:
        n_val = max(2, int(round(n * val_fraction))) if n >= 4 else 0
        val, train = order[:n_val], order[n_val:]
    train_head(model, inputs, oracle, train, seed=seed + 1 + max(folds, 0), **args)
    if not (folds >= 2 and n >= 2 * folds) and len(val):
        predicted[val] = model.predict(_take(inputs, val))
    rho = float("nan")
    if len(val) >= 2:
        rho = float(spearmanr(predicted[val].numpy(), oracle[val].numpy()).statistic)
    low, high = spearman_interval(rho, len(val))
    return InfluenceFit(model, rho, low, high, len(train), len(val))


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

