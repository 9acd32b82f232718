"""Selectors: given the not-yet-trained part of the pool, choose the next stage's ``k`` sequences.

One interface, :class:`Selector` (``select(ctx) -> Selection``); ``conf/selection/<name>.yaml``
builds each with ``_target_``:

- ``random``: uniform without replacement.
- ``mates``: MATES (Yu et al., NeurIPS 2024): oracle probing of a random sample, a data
  influence model fitted to it, Gumbel-top-k over the candidates' predictions.
- ``perplexity``: the classic static filter (e.g. Wenzek et al., CCNet, LREC 2020): the
  lowest-perplexity sequences under a small reference LM trained on held-out Wikipedia text.
- ``source_oracle``: only the reference task's source (Wikipedia), an upper reference; the only
  selector that reads the source tags.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch import nn

from modules.selection.gumbel import gumbel_top_k
from modules.selection.pool import SelectionData
from modules.selection.reference import model_device


@dataclass
class StageContext:
    """What a selector may read: the data, the remaining ``candidates`` (pool indices), how many
    to choose, and the state of the model being trained (read only)."""

    data: SelectionData
    candidates: np.ndarray
    k: int
    stage: int
    model: nn.Module
    optimizer: torch.optim.Optimizer
    clip: float
    seed: int
    cache_dir: str = "."

    def generator(self, salt: int = 0) -> torch.Generator:
        """A generator seeded by the trial seed, the stage and ``salt``."""
        return torch.Generator().manual_seed(self.seed * 1_000_003 + self.stage * 1009 + salt)


@dataclass
class Selection:
    """The chosen pool indices and what the selector measured while choosing."""

    indices: np.ndarray
    metrics: dict[str, float] = field(default_factory=dict)


class Selector(Protocol):
    """Chooses ``ctx.k`` of ``ctx.candidates`` for stage ``ctx.stage``."""

    def select(self, ctx: StageContext) -> Selection: ...


def _log(message: str) -> None:
    print(f"[selection] {message}", file=sys.stderr, flush=True)


class RandomSelector:
    """Uniform random selection without replacement (the baseline)."""

    def select(self, ctx: StageContext) -> Selection:
        order = torch.randperm(len(ctx.candidates), generator=ctx.generator())
        return Selection(ctx.candidates[order[: ctx.k].numpy()])


class SourceOracleSelector:
    """Only ``source`` (the reference task's), drawn at random; topped up at random from the
    other sources if it runs out."""

    def __init__(self, source: str = "wikipedia") -> None:
        self.source = source

    def select(self, ctx: StageContext) -> Selection:
        if self.source not in ctx.data.sources:
            raise ValueError(f"unknown source {self.source!r}; the pool has {ctx.data.sources}")
        tag = ctx.data.sources.index(self.source)
        order = ctx.candidates[torch.randperm(len(ctx.candidates), generator=ctx.generator()).numpy()]
        match = ctx.data.pool_source[order] == tag
        ranked = np.concatenate([order[match], order[~match]])
        return Selection(ranked[: ctx.k])


class PerplexitySelector:
    """The lowest-perplexity sequences under a reference LM trained on held-out Wikipedia text.
    Static: the reference LM (its own ``seed``) and the pool's scores are computed once per pool
    and cached, as such a filter scores a corpus once."""

    def __init__(
        self,
        hidden_size: int = 128,
        num_layers: int = 2,
        num_heads: int = 4,
        intermediate_size: int = 512,
        steps: int = 60,
        batch_size: int = 8,
        lr: float = 1e-3,
        seed: int = 0,
    ) -> None:
        self.settings = dict(
            hidden_size=hidden_size, num_layers=num_layers, num_heads=num_heads,
            intermediate_size=intermediate_size, steps=steps, batch_size=batch_size, lr=lr, seed=seed,
        )
        self.scores: torch.Tensor | None = None

    def select(self, ctx: StageContext) -> Selection:
        started = time.monotonic()
        if self.scores is None:
            self.scores = self._cached_scores(ctx)
        ranked = ctx.candidates[np.argsort(self.scores[ctx.candidates].numpy(), kind="stable")]
        return Selection(ranked[: ctx.k], {"time/score_s": time.monotonic() - started})

    def _cached_scores(self, ctx: StageContext) -> torch.Tensor:
        from filelock import FileLock

        key = json.dumps({**self.settings, "data": ctx.data.digest}, sort_keys=True)
        digest = hashlib.sha1(key.encode()).hexdigest()[:12]
        path = Path(ctx.cache_dir).expanduser() / f"perplexity-{digest}.pt"
        path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(path) + ".lock"):
            if not path.exists():
                scores = self.compute_scores(ctx.data, model_device(ctx.model))
                partial = path.with_suffix(".partial")
                torch.save(scores, partial)
                partial.rename(path)
        return torch.load(path, weights_only=True)

    def compute_scores(self, data: SelectionData, device: torch.device | str = "cpu") -> torch.Tensor:
        """Train the reference LM on ``data.heldout`` (on ``device``); each pool sequence's
        log-perplexity."""
        from modules.selection.lm import build_llama, lm_loss
        from modules.selection.reference import sequence_losses

        s = self.settings
        torch.manual_seed(s["seed"])
        model = build_llama(
            data.vocab_size, s["hidden_size"], s["num_layers"], s["num_heads"],
            s["intermediate_size"], max_length=data.pool_ids.shape[1],
        ).to(device)
        optimizer = torch.optim.AdamW(model.parameters(), lr=s["lr"], betas=(0.9, 0.95), weight_decay=0.1)
        gen = torch.Generator().manual_seed(s["seed"])
        started = time.monotonic()
        for _ in range(s["steps"]):
            rows = torch.randint(len(data.heldout), (s["batch_size"],), generator=gen)
            loss = lm_loss(model, data.heldout[rows].to(device))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
        _log(f"perplexity filter: reference LM trained ({s['steps']} steps, loss {loss.item():.2f}, "
             f"{time.monotonic() - started:.0f} s); scoring {len(data)} pool sequences")
        return sequence_losses(model, data.pool_ids).cpu()


class MatesSelector:
    """MATES (Yu et al., NeurIPS 2024): probe ``probes`` random candidates (one optimizer step
    each from the current state, reference loss after it; ``oracle`` exact or first-order, see
    ``modules/selection/probing.py``), fit the influence model to the
    z-scored oracle losses, predict every candidate and draw ``k`` by Gumbel-top-k at
    ``temperature`` on the predictions as they come (in z-score units, lowest loss favoured), as
    the official ``src/select_data/select_data.py`` lines 35-40 and 55 (temperature 0.5). The
    influence model runs on the trained model's device."""

    def __init__(
        self,
        probes: int = 96,
        probe_workers: int = 1,
        temperature: float = 0.5,
        encoder: str = "minilm_l6",
        trainable_layers: int = 0,
        max_length: int = 64,
        segments: int = 1,
        head_hidden: int = 128,
        epochs: int = 100,
        batch_size: int = 32,
        lr: float = 1e-3,
        encoder_lr: float = 5e-5,
        val_fraction: float = 0.2,
        folds: int = 0,
        oracle: str = "exact",
    ) -> None:
        from modules.selection.probing import ORACLES

        if oracle not in ORACLES:
            raise ValueError(f"oracle must be one of {ORACLES}, got {oracle!r}")
        self.probes, self.probe_workers, self.temperature = probes, probe_workers, temperature
        self.oracle = oracle
        self.encoder, self.trainable_layers, self.max_length = encoder, trainable_layers, max_length
        self.segments, self.head_hidden, self.batch_size = segments, head_hidden, batch_size
        self.fit_args = dict(epochs=epochs, lr=lr, encoder_lr=encoder_lr, val_fraction=val_fraction, folds=folds)
        self.features = None

    def influence_model(self, device: torch.device | str = "cpu"):
        from modules.selection.influence import InfluenceModel, load_encoder

        encoder, tokenizer = load_encoder(self.encoder)
        model = InfluenceModel(encoder, tokenizer, self.trainable_layers, self.max_length,
                               self.head_hidden, self.batch_size, self.segments)
        return model.to(device)

    def select(self, ctx: StageContext) -> Selection:
        from modules.selection.influence import cached_features, fit_influence
        from modules.selection.probing import ProbeState, run_probes

        started = time.monotonic()
        sample = ctx.candidates[
            torch.randperm(len(ctx.candidates), generator=ctx.generator(1))[: self.probes].numpy()
        ]
        state = ProbeState.capture(ctx.model, ctx.optimizer, ctx.clip, ctx.data.reference.ids)
        _log(f"stage {ctx.stage}: probing {len(sample)} candidates ({self.oracle}, {self.probe_workers} worker(s))")
        oracle = run_probes(state, ctx.data.pool_ids[sample], workers=self.probe_workers, oracle=self.oracle)
        probed = time.monotonic()

        torch.manual_seed(ctx.seed * 7919 + ctx.stage)  # the head's initialization
        model = self.influence_model(model_device(ctx.model))
        if self.features is None:
            name = self.encoder.replace("/", "_")
            self.features = cached_features(model, ctx.data.pool_texts, ctx.cache_dir, name)
        fit = fit_influence(model, _rows(self.features, sample), oracle, seed=ctx.seed + ctx.stage,
                            **self.fit_args)
        predicted = model.predict(_rows(self.features, ctx.candidates))
        chosen = gumbel_top_k(predicted, ctx.k, self.temperature, ctx.generator(2))
        done = time.monotonic()
        _log(f"stage {ctx.stage}: influence model held-out Spearman {fit.spearman:.3f} "
             f"[{fit.low:.3f}, {fit.high:.3f}] on {fit.val_size} probes")
        return Selection(
            ctx.candidates[chosen.numpy()],
            {
                "influence/spearman": fit.spearman,
                "influence/spearman_low": fit.low,
                "influence/spearman_high": fit.high,
                "influence/probes": float(len(sample)),
                "influence/val_size": float(fit.val_size),
                "influence/oracle_mean": float(oracle.mean()),
                "influence/oracle_std": float(oracle.std()),
                "time/probe_s": probed - started,
                "time/score_s": done - probed,
            },
        )


def _rows(inputs, index: np.ndarray):
    if isinstance(inputs, torch.Tensor):
        return inputs[torch.as_tensor(index)]
    return [inputs[int(i)] for i in index]

