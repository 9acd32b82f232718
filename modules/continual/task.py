"""The continual study's task: a method over one or more class-incremental task sequences
(``scenarios``), with the metrics reported live after every task and resumable after any task.

The sequences run inside a Lightning ``Trainer`` whose training epoch ``e`` is one task: the
epochs walk through the scenarios in config order (e.g. Split-20NG's 10 tasks, then Split-MNIST's
5), and :class:`SequenceModule`'s single training step of an epoch learns that task, evaluates
every seen task and logs ``cl/<scenario>/<metric>``, so the sweep's epoch-end callbacks
(``ctx.callbacks``) report each task to Tune and MLflow as it finishes. The module's checkpoint
(written by those callbacks) carries the running scenario's method state (head, class means or
Gaussians, the backbone when it trains), its accuracy matrix and the finished scenarios' results,
so a retried trial (``ctx.resume_from``) continues after the last finished task.

Written to ``ctx.artifact_dir`` (and so to the trial's child run): after every task the accuracy
matrix ``accuracy_matrix_<scenario>.csv`` and the plot ``accuracy_over_tasks_<scenario>.png``;
at the end, per-example correctness on the test set after the last task (metric
``cl/<scenario>/acc``) under ``per_example/``.

Config read: ``scenarios`` (name → a ``conf/scenario`` option: ``data``, a
:mod:`modules.continual.datasets` loader; ``encoder``, a frozen encoder factory; ``encoder_name``;
``cache_dir``; ``trainable_encoder``, the backbone as a module for methods that train it) and
``method`` (a :mod:`modules.continual.sequence` or :mod:`modules.continual.trainable` class;
``_partial_`` ones get ``feature_dim``, ``seed``, the ``encoder`` when they train it
(``needs_inputs``) and ``num_tasks`` when they take it). Frozen-backbone methods read features
from the on-disk cache; methods that train the backbone get a fresh pretrained one per scenario,
unless the scenario sets ``train_backbone: false`` (a backbone too costly to train at the budget):
then they train their heads on the cached features through an identity encoder. A method whose
``head_lr`` is null takes the scenario's ``head_lr`` (it depends on the features' scale).
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import pandas as pd
import torch
from omegaconf import DictConfig
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from modules.continual.datasets import ContinualData
from modules.continual.features import cached_features
from modules.continual.metrics import AccuracyMatrix
from modules.continual.sequence import SequenceRun
from modules.contract.run import RunContext

STATE_KEY = "continual"
# The trial's final metrics (reported once more after the last task; the per-task accuracies
# and the task index are not repeated, so their MLflow history has exactly one point per task).
FINAL = ("acc", "avg_inc_acc", "forgetting", "current_acc", "base_acc", "new_acc", "hm_acc")


@dataclass
class ScenarioPart:
    """One scenario of a trial: its config and data, and its sequence once started (or restored)."""

    name: str
    cfg: DictConfig
    data: ContinualData
    run: SequenceRun | None = None
    saved: dict | None = field(default=None, repr=False)

    @property
    def num_tasks(self) -> int:
        return self.data.scenario.num_tasks

    def results_only(self) -> SequenceRun:
        """A sequence without a method, to hold a finished scenario's restored results."""
        d = self.data
        return SequenceRun(None, d.scenario, None, d.y_train, None, d.y_test)


class SequenceModule(L.LightningModule):
    """Runs the scenarios' sequences one task per training epoch and logs each task's metrics;
    its checkpoint hooks save and restore the sequences' state (see the module docstring)."""

    def __init__(self, parts: list[ScenarioPart], build: Any, artifact_dir: Path) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.parts, self.build, self.artifact_dir = parts, build, Path(artifact_dir)
        self.schedule = [(i, t) for i, part in enumerate(parts) for t in range(part.num_tasks)]

    def train_dataloader(self) -> DataLoader:
        return DataLoader(TensorDataset(torch.zeros(1, 1)), batch_size=1)

    def sequence(self, part: ScenarioPart) -> SequenceRun:
        """The part's sequence: built on first use, restored from a checkpoint when there is one."""
        if part.run is None:
            saved = part.saved or {}
            unfinished = not saved or "method" in saved
            part.run = self.build(part) if unfinished else part.results_only()
            if saved:
                part.run.load_state_dict(saved)
        return part.run

    def on_train_epoch_start(self) -> None:
        """Forget the previous epoch's per-task metrics (Lightning keeps every key ever logged):
        a finished scenario's summary metrics stay (their final values, so the sweep's metric is
        in every report), its per-task accuracies are not reported again."""
        logged = self.trainer.callback_metrics
        for key in [k for k in logged if k.startswith("cl/") and k.rsplit("/", 1)[-1] not in FINAL]:
            del logged[key]

    def training_step(self, batch: Any, batch_idx: int) -> None:
        i, t = self.schedule[self.current_epoch]
        part = self.parts[i]
        run = self.sequence(part)
        metrics = run.step(t)
        for key, value in metrics.items():
            self.log(f"cl/{part.name}/{key}", float(value), on_step=False, on_epoch=True)
        write_progress(part.name, run.matrix, self.artifact_dir)
        if run.done == part.num_tasks:
            run.method = None  # finished: keep the results, free the backbone

    def configure_optimizers(self) -> list:
        return []  # the methods train themselves inside training_step

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint[STATE_KEY] = {
            p.name: p.run.state_dict() for p in self.parts if p.run is not None
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        saved = checkpoint.get(STATE_KEY, {})
        for part in self.parts:
            part.run, part.saved = None, saved.get(part.name)

    def results(self) -> dict[str, SequenceRun]:
        """Every scenario's sequence (finished after ``fit``)."""
        return {part.name: self.sequence(part) for part in self.parts}


class ContinualTask:
    """Run the method over each scenario's task sequence, one task per epoch; report per task,
    write the matrices, plots and per-example scores; return the final metrics."""

    resumes_from_checkpoints = True  # its Trainer gets ctx.callbacks and fits from ctx.resume_from

    def run(self, cfg: DictConfig, ctx: RunContext) -> dict[str, float]:
        from hydra.utils import instantiate

        seed = int(cfg.seed)
        parts = [
            ScenarioPart(str(name), sc, instantiate(sc.data, seed=seed))
            for name, sc in scenario_configs(cfg).items()
        ]
        build = functools.partial(build_sequence, cfg.method, seed)
        module = SequenceModule(parts, build, Path(ctx.artifact_dir))
        ctx.fit(ctx.trainer(cfg, max_epochs=len(module.schedule)), module)
        out: dict[str, float] = {}
        scores = []
        for name, run in module.results().items():
            write_progress(name, run.matrix, Path(ctx.artifact_dir))
            scores.append((name, run.test_pos, run.pred))
            out.update({f"cl/{name}/{k}": float(v) for k, v in run.metrics.items() if k in FINAL})
        write_scores(Path(ctx.artifact_dir), scores)
        return out


def scenario_configs(cfg: DictConfig) -> dict[str, DictConfig]:
    """``cfg.scenarios`` (name → scenario config); one clear error when there is none."""
    scenarios = cfg.get("scenarios") or {}
    if not scenarios:
        raise ValueError("the continual task needs scenarios: e.g. +experiment=cl_baselines")
    return dict(scenarios.items())


def build_sequence(method_cfg: DictConfig, seed: int, part: ScenarioPart) -> SequenceRun:
    """The method and its inputs for one scenario: raw inputs and a fresh pretrained encoder for
    methods that train the backbone (``needs_inputs``), else cached frozen features."""
    from hydra.utils import instantiate

    sc, data = part.cfg, part.data
    method = instantiate(method_cfg)
    build = method.func if isinstance(method, functools.partial) else type(method)
    trains = getattr(build, "needs_inputs", False)
    if trains and sc.get("train_backbone", True):
        encoder = instantiate(sc.trainable_encoder)
        x_tr, x_te = _inputs(data.x_train), _inputs(data.x_test)
        dim, extra = int(encoder.feature_dim), {"encoder": encoder}
    else:
        encode = _built_on_first_use(instantiate(sc.encoder))
        name, cache = str(sc.encoder_name), str(sc.cache_dir)
        x_tr = cached_features(cache, name, data.x_train, encode)
        x_te = cached_features(cache, name, data.x_test, encode)
        dim, extra = int(x_tr.shape[1]), {"encoder": nn.Identity()} if trains else {}
    if isinstance(method, functools.partial):
        extra.update(feature_dim=dim, seed=seed)
        if "num_tasks" in inspect.signature(method.func).parameters:
            extra["num_tasks"] = data.scenario.num_tasks
        if "head_lr" in method.keywords and method.keywords["head_lr"] is None:
            extra["head_lr"] = scenario_head_lr(part)
        method = method(**extra)
    return SequenceRun(method, data.scenario, x_tr, data.y_train, x_te, data.y_test)


def scenario_head_lr(part: ScenarioPart) -> float:
    """The head's learning rate a scenario sets (``head_lr``) for methods that leave it null:
    the scale of the scenario's features, not the method, decides how large a head step is."""
    lr = part.cfg.get("head_lr")
    if lr is None:
        raise ValueError(f"scenario {part.name} sets no head_lr, and the method leaves it null")
    return float(lr)


def write_progress(name: str, matrix: AccuracyMatrix, folder: Path) -> None:
    """The accuracy matrix and the accuracy-over-tasks plot of scenario ``name`` so far."""
    write_matrix(matrix, folder / f"accuracy_matrix_{name}.csv")
    plot_accuracy(matrix, folder / f"accuracy_over_tasks_{name}.png", title=name)


def _inputs(x: Any) -> Any:
    """Arrays become tensors (images); lists (texts) stay lists."""
    return torch.as_tensor(x) if isinstance(x, np.ndarray) else list(x)


def _built_on_first_use(factory: Any) -> Any:
    """An encoder built on first use (a cache hit never loads the backbone)."""
    build = functools.cache(factory)
    return lambda items: build()(items)


def write_scores(folder: Path, scores: list[tuple[str, np.ndarray, np.ndarray]]) -> None:
    """Per-example correctness after the last task of each scenario ``(name, targets,
    predictions)``: metric ``cl/<name>/acc``, statistic mean."""
    from modules.contract.per_example import write_per_example
    from modules.evaluation.result import EvalResult

    write_per_example(
        [EvalResult.from_correct(f"cl/{name}/acc", np.asarray(pred) == np.asarray(target))
         for name, target, pred in scores],
        folder,
    )


def write_matrix(matrix: AccuracyMatrix, path: Path) -> None:
    """The accuracy matrix as CSV: row ``after_task_i``, column ``task_j`` (empty: not seen)."""
    n = matrix.matrix.shape[0]
    frame = pd.DataFrame(
        matrix.matrix,
        index=[f"after_task_{i}" for i in range(n)],
        columns=[f"task_{j}" for j in range(n)],
    )
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path)


def plot_accuracy(matrix: AccuracyMatrix, path: Path, title: str | None = None) -> None:
    """Accuracy on all seen classes, and on each task, over the sequence."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from modules.continual.metrics import seen_accuracy

    a = matrix.matrix
    steps = np.arange(a.shape[0])
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for j in steps:
        ax.plot(steps[j:], a[j:, j], lw=0.8, alpha=0.5)
    ax.plot(steps, [seen_accuracy(a, i, matrix.sizes) for i in steps], "k-o", lw=2, label="seen")
    ax.set_xlabel("after task")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.02)
    ax.set_xticks(steps)
    if title:
        ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
