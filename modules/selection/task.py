"""The selection study's task: pretrain the small LM in stages, each stage's data chosen by the
trial's selector (``selection=``), at the same token budget for every selector.

One ``Trainer`` runs the stages as epochs (``modules/selection/stages.py``): stage 0 trains on
randomly drawn data (the same draw for every selector of a seed), and at the end of each stage
:class:`~modules.selection.stages.StageSelection` evaluates, logs and chooses the next stage's
data. The sweep's callbacks (``ctx.callbacks``) come after it, so every stage is reported to Tune
and MLflow with its measurements. A retried trial resumes from its last stage checkpoint (the
data module and the callback keep their state in it).

Files in ``artifact_dir``: ``per_example/`` (the final evaluation loss of each held-out Wikipedia
sequence, metric ``eval/loss``), ``stages.csv`` (every logged measurement per stage) and
``mixture.png`` (the source mixture of each stage's data, with the evaluation loss).

CPU sizes (``conf/task/mates.yaml``, ``conf/model/llama_tiny.yaml``, ``conf/data/mates_pool.yaml``,
``conf/selection/mates.yaml``), for 9 trials (3 selectors x 3 seeds, one CPU each, two at a time)
on 2 cores: a 1.6M-parameter Llama (the softmax over the compact 8,192-token vocabulary is most of
its cost) trained for 5 stages x 20 steps x 8 sequences x 128 tokens (102k tokens); each stage
keeps a fifth of a fresh slice of 960 pool sequences; MATES probes 400 of them with the
first-order oracle (one backward pass each against a reference gradient over 4,064 tokens), so
its cross-fitted held-out Spearman has a 95% interval narrower than +-0.1; the frozen MiniLM
embeds the 4,800-sequence pool once (cached for every trial).

Config read: ``task`` (this class's arguments), ``model`` (a ``build_llama`` partial), ``data``
(a pool builder), ``optim`` (an optimizer partial), ``selection`` (a selector), ``trainer``,
``seed`` and ``paths.output_dir``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import DictConfig

from modules.contract.run import RunContext
from modules.selection.stages import CausalLMModule, StagedData, StageSelection


class SelectionTask:
    """Staged pretraining with data selection (MATES, Yu et al., NeurIPS 2024, Algorithm 1).

    ``batch_size`` sequences per optimizer step, in micro-batches of ``micro_batch_size``
    (gradient accumulation; ``0``: no accumulation). ``select_fraction > 0``: each stage chooses
    from a fresh slice of ``stage_size / select_fraction`` pool sequences (the official code keeps
    a fifth, cxcscmu/MATES ``src/select_data/select_data.py`` line 64); ``0``: from every sequence
    not trained on yet. ``eval_decay_steps > 0``: each stage is evaluated after a decay branch
    (``modules/selection/evaluation.py``)."""

    resumes_from_checkpoints = True  # its Trainer gets ctx.callbacks and fits from ctx.resume_from

    def __init__(
        self,
        stages: int = 4,
        stage_steps: int = 24,
        batch_size: int = 8,
        micro_batch_size: int = 0,
        warmup_steps: int = 10,
        decay_steps: int = 0,
        min_lr_ratio: float = 0.1,
        clip: float = 1.0,
        select_fraction: float = 0.0,
        eval_decay_steps: int = 0,
        eval_decay_halvings: float = 4.0,
        cache_dir: str = "cache/selection",
    ) -> None:
        self.stages, self.stage_steps, self.batch_size = stages, stage_steps, batch_size
        self.micro_batch_size = micro_batch_size or batch_size
        self.warmup_steps, self.decay_steps, self.min_lr_ratio = warmup_steps, decay_steps, min_lr_ratio
        self.clip, self.select_fraction, self.cache_dir = clip, select_fraction, cache_dir
        self.eval_decay_steps, self.eval_decay_halvings = eval_decay_steps, eval_decay_halvings
        if batch_size % self.micro_batch_size:
            raise ValueError(f"batch_size {batch_size} is not a multiple of micro_batch_size {micro_batch_size}")
        if not 0 <= select_fraction <= 1:
            raise ValueError(f"select_fraction must be in [0, 1], got {select_fraction}")

    @property
    def stage_size(self) -> int:
        """Sequences per stage: the token budget is ``stages * stage_size * seq_len``."""
        return self.stage_steps * self.batch_size

    @property
    def slice_size(self) -> int:
        """Candidates per stage when each stage draws from a fresh slice (else 0)."""
        return math.ceil(self.stage_size / self.select_fraction) if self.select_fraction else 0

    @property
    def pool_needed(self) -> int:
        """Pool sequences the run consumes, with the last stage's decay branch (its data is
        selected like a stage's, in proportion to its size)."""
        decay = self.eval_decay_steps * self.batch_size
        if self.select_fraction:
            return self.stages * self.slice_size + math.ceil(decay / self.select_fraction)
        return self.stages * self.stage_size + decay

    @classmethod
    def check_config(cls, cfg: DictConfig) -> None:
        """Before any work: the pool the data config can give covers :attr:`pool_needed`."""
        from hydra.utils import instantiate

        task = instantiate(cfg.task)
        supply, what = planned_pool(cfg.data)
        if supply < task.pool_needed:
            per_stage = task.slice_size or task.stage_size
            decay = task.pool_needed - task.stages * per_stage
            plan = f"{task.stages} stages x {per_stage:,} candidates" + (
                f" + {decay:,} for the last decay branch" if decay else "")
            raise ValueError(f"the pool needs {task.pool_needed:,} sequences ({plan}), but {what} gives at most {supply:,}")

    def run(self, cfg: DictConfig, ctx: RunContext) -> dict[str, float]:
        import torch
        from hydra.utils import instantiate

        data = instantiate(cfg.data)
        if self.pool_needed > len(data):
            raise ValueError(f"the pool needs {self.pool_needed} sequences, it has {len(data)}")
        selector = instantiate(cfg.selection)
        seed = int(cfg.seed)
        torch.manual_seed(seed)
        model = instantiate(cfg.model)(vocab_size=data.vocab_size, max_length=data.pool_ids.shape[1])
        module = CausalLMModule(
            model, instantiate(cfg.optim, _convert_="all"), self.stages * self.stage_steps,
            self.warmup_steps, self.decay_steps, self.min_lr_ratio,
        )
        datamodule = StagedData(data.pool_ids, self.micro_batch_size, seed)
        first_from = self.slice_size or len(data)
        datamodule.set_stage(0, np.random.default_rng(seed).permutation(first_from)[: self.stage_size])
        stage_cb = StageSelection(
            selector, data, datamodule, self.stages, self.stage_size, self.clip, seed, self.cache_dir,
            self.slice_size, self.eval_decay_steps, self.eval_decay_halvings, self.accumulate,
        )
        trainer = ctx.trainer(
            cfg,
            [stage_cb],
            max_epochs=self.stages,
            gradient_clip_val=self.clip or None,
            accumulate_grad_batches=self.accumulate,
            reload_dataloaders_every_n_epochs=1,
            limit_val_batches=0,
        )
        ctx.fit(trainer, module, datamodule=datamodule)
        self.write(ctx.artifact_dir, stage_cb, data.sources)
        return final_metrics(stage_cb)

    @property
    def accumulate(self) -> int:
        return self.batch_size // self.micro_batch_size

    @staticmethod
    def write(folder: Path, stage_cb: StageSelection, sources: list[str]) -> None:
        """Per-example reference losses, the per-stage table and the mixture plot."""
        from modules.contract.per_example import write_per_example
        from modules.evaluation.result import EvalResult

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        items = stage_cb.last_items.numpy() if stage_cb.last_items is not None else np.zeros(0)
        frame = pd.DataFrame({"example_id": np.arange(len(items)), "score": items})
        write_per_example([EvalResult("eval/loss", float(items.mean()), per_example=frame)], folder)
        table = pd.DataFrame(stage_cb.history)
        table.to_csv(folder / "stages.csv", index=False)
        plot_mixture(table, sources, folder / "mixture.png")


def planned_pool(data: DictConfig) -> tuple[int, str]:
    """(the most sequences ``data`` can give, how that was computed), from its settings alone:
    a hub corpus gives at most ``documents * doc_tokens / seq_len`` sequences and ``pool_size``;
    the bundled pool ``pool_per_source`` per source."""
    if "pool_size" in data:
        docs = int(float(data.documents) * float(data.doc_tokens) / int(data.seq_len))
        supply = min(int(data.pool_size), docs)
        return supply, (f"data.pool_size={int(data.pool_size):,} / data.documents={int(data.documents):,} "
                        f"x {float(data.doc_tokens):g} tokens / {int(data.seq_len)} = {docs:,}")
    per_source = int(data.pool_per_source)
    return per_source * len(data.sources), f"data.pool_per_source={per_source} x {len(data.sources)} sources"


def final_metrics(stage_cb: StageSelection) -> dict[str, float]:
    """The trial's final report: the last stage's evaluation, the tokens seen, the source mixture
    of all the data trained on (``total_mix/<source>``) and the total training and selection time.
    Per-stage-only measurements are not repeated."""
    history = pd.DataFrame(stage_cb.history)
    last = stage_cb.history[-1]
    prefixes = ("ref/", "eval/", "val/", "sanity/")
    final = {k: float(v) for k, v in last.items() if k.startswith(prefixes) or k == "tokens_seen"}
    for column in history.columns:
        if column.startswith("mix/"):
            final[f"total_mix/{column[4:]}"] = float(history[column].mean())
    final["time/train_total_s"] = float(stage_cb.totals["train"])
    final["time/select_total_s"] = float(stage_cb.totals["select"])
    for column in ("influence/spearman", "influence/probes"):
        if column in history:
            final[f"{column}_mean"] = float(history[column].mean())
    return final


def plot_mixture(table: pd.DataFrame, sources: list[str], path: Path) -> None:
    """Stacked bars of each stage's source mixture, the evaluation loss on a second axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    bottom = np.zeros(len(table))
    stages = table["stage"].astype(int).to_numpy()
    for name in sources:
        share = table.get(f"mix/{name}", pd.Series(np.zeros(len(table)))).to_numpy()
        ax.bar(stages, share, bottom=bottom, label=name)
        bottom += share
    ax.set_xlabel("stage")
    ax.set_ylabel("share of the stage's data")
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left", fontsize=8)
    twin = ax.twinx()
    twin.plot(stages, table["eval/loss"], "k-o", label="evaluation loss")
    twin.set_ylabel("evaluation loss (held-out Wikipedia)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
