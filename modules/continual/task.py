"""The continual study's task: a method over a class-incremental task sequence on frozen, cached
backbone features, with the metrics reported after every task.

Reporting goes through the sweep's Lightning callbacks (``ctx.callbacks`` report at each training
epoch end), so the sequence runs inside a ``Trainer`` whose epoch ``t`` is task ``t``:
:class:`SequenceModule` learns and evaluates one task per epoch and logs the metrics of
:func:`~modules.continual.sequence.run_sequence`. Per-example correctness on the test set after
the last task goes to ``artifact_dir/per_example`` (metric ``cl/acc``), the accuracy matrix to
``artifact_dir/accuracy_matrix.csv`` and an accuracy-over-tasks plot to
``artifact_dir/accuracy_over_tasks.png``.

Config read: ``scenario`` (``data``: a :mod:`modules.continual.datasets` loader; ``encoder``: a
frozen encoder factory; ``encoder_name``; ``cache_dir``; ``trainable_encoder``: the backbone as a
module, for methods that train it) and ``method`` (a :mod:`modules.continual.sequence` or
:mod:`modules.continual.trainable` class; ``_partial_`` ones get ``feature_dim``, ``seed``, the
``encoder`` when they train it (``needs_inputs``) and ``num_tasks`` when they take it).

The metrics are computed for the whole sequence first and then replayed through a ``Trainer``
(one epoch per task), so Tune and MLflow get one report per task, at the end of the trial. Not
yet here: resuming a sequence from a checkpoint (a retried trial starts the sequence over).
"""

from __future__ import annotations

import functools
import inspect
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import pandas as pd
import torch
from omegaconf import DictConfig
from torch.utils.data import DataLoader, TensorDataset

from modules.continual.features import cached_features
from modules.continual.metrics import AccuracyMatrix
from modules.continual.sequence import ContinualMethod, run_sequence
from modules.task import RunContext, extra_callbacks


class SequenceModule(L.LightningModule):
    """Replays a finished sequence's per-task metrics, one training epoch per task (its single
    step logs the metrics after task ``t``), so epoch-end callbacks report each task."""

    def __init__(self, per_task: list[dict[str, float]]) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.per_task = per_task

    def train_dataloader(self) -> DataLoader:
        return DataLoader(TensorDataset(torch.zeros(1, 1)), batch_size=1)

    def training_step(self, batch: Any, batch_idx: int) -> None:
        metrics = self.per_task[self.current_epoch]
        for key, value in metrics.items():
            self.log(f"cl/{key}", float(value), on_step=False, on_epoch=True)

    def configure_optimizers(self) -> list:
        return []  # nothing to optimize: the metrics are replayed


class ContinualTask:
    """Cache features, run the method over the sequence, report per task, return final metrics."""

    def run(self, cfg: DictConfig, ctx: RunContext) -> dict[str, float]:
        from hydra.utils import instantiate

        sc, seed = cfg.scenario, int(cfg.seed)
        data = instantiate(sc.data, seed=seed)
        method = instantiate(cfg.method)
        build = method.func if isinstance(method, functools.partial) else type(method)
        if getattr(build, "needs_inputs", False):
            # the backbone trains: raw inputs, a fresh pretrained encoder per trial
            encoder = instantiate(sc.trainable_encoder)
            x_tr, x_te = _inputs(data.x_train), _inputs(data.x_test)
            dim = int(encoder.feature_dim)
            extra = {"encoder": encoder}
        else:
            encode = _lazy(instantiate(sc.encoder))
            name, cache = str(sc.encoder_name), str(sc.cache_dir)
            x_tr = cached_features(cache, name, data.x_train, encode)
            x_te = cached_features(cache, name, data.x_test, encode)
            dim, extra = int(x_tr.shape[1]), {}
        if isinstance(method, functools.partial):
            extra.update(feature_dim=dim, seed=seed)
            if "num_tasks" in inspect.signature(method.func).parameters:
                extra["num_tasks"] = data.scenario.num_tasks
            method = method(**extra)
        metrics, matrix, pred = self.sequence(method, data, x_tr, x_te)
        self.report(cfg, ctx, matrix, metrics["_per_task"])
        test_pos = data.scenario.remap(data.y_test)
        write_scores(ctx.artifact_dir, test_pos, pred)
        plot_accuracy(matrix, Path(ctx.artifact_dir) / "accuracy_over_tasks.png")
        write_matrix(matrix, Path(ctx.artifact_dir) / "accuracy_matrix.csv")
        return {f"cl/{k}": float(v) for k, v in metrics.items() if k != "_per_task"}

    @staticmethod
    def sequence(method: ContinualMethod, data: Any, x_tr: torch.Tensor, x_te: torch.Tensor):
        per_task: list[dict[str, float]] = []
        metrics, matrix, pred = run_sequence(
            method,
            data.scenario,
            x_tr,
            data.y_train,
            x_te,
            data.y_test,
            lambda t, m: per_task.append(dict(m)),
        )
        return {**metrics, "_per_task": per_task}, matrix, pred

    @staticmethod
    def report(
        cfg: DictConfig, ctx: RunContext, matrix: AccuracyMatrix, per_task: list[dict[str, float]]
    ) -> None:
        """Replay the per-task metrics through a Trainer (one epoch per task) so the sweep's
        callbacks report each task."""
        from hydra.utils import instantiate

        trainer = instantiate(
            cfg.trainer,
            max_epochs=len(per_task),
            callbacks=[*ctx.callbacks, *extra_callbacks(cfg)],
        )
        trainer.fit(SequenceModule(per_task))


def _inputs(x: Any) -> Any:
    """Arrays become tensors (images); lists (texts) stay lists."""
    return torch.as_tensor(x) if isinstance(x, np.ndarray) else list(x)


def _lazy(factory: Any):
    """An encoder built on first use (a cache hit never loads the backbone)."""
    state: dict[str, Any] = {}

    def encode(items: Any) -> torch.Tensor:
        if "encode" not in state:
            state["encode"] = factory()
        return state["encode"](items)

    return encode


def write_scores(folder: Path, targets: np.ndarray, predictions: np.ndarray) -> None:
    """Per-example correctness after the last task (metric ``cl/acc``, statistic mean)."""
    from modules.evaluation.per_example import write_per_example
    from modules.evaluation.result import EvalResult

    correct = (np.asarray(predictions) == np.asarray(targets)).astype(float)
    frame = pd.DataFrame({"example_id": np.arange(len(correct)), "score": correct})
    write_per_example([EvalResult("cl/acc", float(correct.mean()), per_example=frame)], folder)


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


def plot_accuracy(matrix: AccuracyMatrix, path: Path) -> None:
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
    ax.legend()
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
