from __future__ import annotations

import functools

import lightning as L
import numpy as np
import pytest
import torch

from modules.selection.selectors import (
    RandomSelector,
    Selection,
    SourceOracleSelector,
    StageContext,
)
from modules.selection.stages import CausalLMModule, StagedData, StageSelection, mixture
from tests.modules.selection.tiny import tiny_data, tiny_lm


class Recording:
    """A selector that takes the lowest remaining indices and records what it was offered."""

    def __init__(self):
        self.offered = []

    def select(self, ctx: StageContext) -> Selection:
        self.offered.append((ctx.stage, set(ctx.candidates.tolist())))
        return Selection(np.sort(ctx.candidates)[: ctx.k], {"probe_count": 1.0})


class SeenBatches(L.Callback):
    def __init__(self):
        self.rows = {}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.rows.setdefault(trainer.current_epoch, []).extend(map(tuple, batch[0].tolist()))


class Reported(L.Callback):
    def __init__(self):
        self.metrics = []

    def on_train_epoch_end(self, trainer, pl_module):
        self.metrics.append(dict(trainer.callback_metrics))


def test_each_stage_trains_on_its_own_selected_data_and_reports_it():
    data = tiny_data(pool=48)
    model = tiny_lm()
    module = CausalLMModule(model, functools.partial(torch.optim.AdamW, lr=1e-2), 6, 2)
    dm = StagedData(data.pool_ids, batch_size=4, seed=0)
    first = np.arange(40, 48)
    dm.set_stage(0, first)
    selector, seen, reported = Recording(), SeenBatches(), Reported()
    stages = StageSelection(selector, data, dm, stages=3, stage_size=8, clip=1.0, seed=0, cache_dir=".")
    trainer = L.Trainer(max_epochs=3, accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False,
                        reload_dataloaders_every_n_epochs=1, gradient_clip_val=1.0,
                        callbacks=[stages, seen, reported])
    trainer.fit(module, datamodule=dm)

    rows = lambda idx: {tuple(r) for r in data.pool_ids[idx].tolist()}  # noqa: E731
    assert set(seen.rows[0]) == rows(first)
    assert set(seen.rows[1]) == rows(np.arange(0, 8))  # the selector's choice for stage 1
    assert set(seen.rows[2]) == rows(np.arange(8, 16))
    # what was trained on is never offered again
    assert selector.offered[0] == (1, set(range(40)))
    assert selector.offered[1] == (2, set(range(8, 40)))
    assert [round(float(m["tokens_seen"])) for m in reported.metrics] == [64, 128, 192]
    assert {"ref/loss", "eval/loss", "eval/loss_se", "val/ppl/wikipedia", "mix/wikipedia", "time/train_s",
            "eval/unigram_loss", "eval/loss_init", "sanity/eval_disjoint_from_probe"} <= set(reported.metrics[0])
    assert "probe_count" in reported.metrics[1] and "probe_count" not in reported.metrics[0]
    assert float(reported.metrics[1]["mix/wikipedia"]) == mixture(data, np.arange(8))["wikipedia"]
    assert len(stages.history) == 3 and stages.last_items.shape == (len(data.evaluation),)


def test_a_stage_cannot_reuse_trained_sequences_and_state_round_trips():
    dm = StagedData(torch.zeros(10, 4, dtype=torch.long), batch_size=2)
    dm.set_stage(0, [1, 2])
    with pytest.raises(ValueError):
        dm.set_stage(1, [2, 3])
    other = StagedData(torch.zeros(10, 4, dtype=torch.long), batch_size=2)
    other.load_state_dict(dm.state_dict())
    assert other.stage == 0 and other.candidates().tolist() == [0, *range(3, 10)]


def context(data, candidates, k):
    return StageContext(data, np.asarray(candidates), k, 1, tiny_lm(), None, 1.0, seed=0)


def test_random_and_source_oracle_selectors():
    data = tiny_data(pool=30)
    chosen = RandomSelector().select(context(data, range(10, 30), 5)).indices
    assert len(set(chosen.tolist())) == 5 and set(chosen.tolist()) <= set(range(10, 30))
    oracle = SourceOracleSelector("wikipedia").select(context(data, range(30), 8)).indices
    assert (data.pool_source[oracle] == 0).all()
    topped_up = SourceOracleSelector("wikipedia").select(context(data, range(12), 6)).indices
    assert (data.pool_source[topped_up] == 0).sum() == 4 and len(set(topped_up.tolist())) == 6


def run_stages(data, selector, stages=3, stage_size=8, batch_size=4, **kwargs):
    """A Trainer over ``stages`` stages of a tiny LM; returns the StageSelection callback."""
    module = CausalLMModule(tiny_lm(), functools.partial(torch.optim.AdamW, lr=1e-2), stages * 2, 1)
    dm = StagedData(data.pool_ids, batch_size=batch_size, seed=0)
    dm.set_stage(0, np.arange(stage_size))
    cb = StageSelection(selector, data, dm, stages=stages, stage_size=stage_size, clip=1.0, seed=0,
                        cache_dir=".", **kwargs)
    trainer = L.Trainer(max_epochs=stages, accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False,
                        reload_dataloaders_every_n_epochs=1, callbacks=[cb])
    trainer.fit(module, datamodule=dm)
    return cb


def test_fresh_slices_and_the_decay_branch():
    data = tiny_data(pool=60)
    selector = Recording()
    cb = run_stages(data, selector, stages=2, slice_size=20, decay_steps=1)
    # stage 1 draws from its own slice; after the last stage the decay branch's data (one step of
    # 4 sequences) comes from a slice of proportional size (20 x 4 / 8)
    assert selector.offered == [(1, set(range(20, 40))), (2, set(range(40, 50)))]
    assert len(cb.history) == 2 and np.isfinite(cb.history[-1]["eval/loss"])
