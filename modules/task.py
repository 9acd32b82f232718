"""The default task: build model, data and trainer from config; fit, then validate.

The contract a task implements (``RunContext``, the task protocols) lives in
:mod:`modules.contract`.
"""

from __future__ import annotations

from typing import Any

import torch
from omegaconf import DictConfig

from modules.contract.per_example import write_per_example
from modules.contract.run import RunContext
from modules.evaluation.result import EvalResult


class FitValidate:
    """The default task: build model, data and trainer from config; fit, then validate.

    For a classifier (batches of ``(inputs, labels)``, logits out) it also writes the validation
    set's per-example correctness as the per-example scores of ``val_acc``, so the report can use
    the paired per-example test, which has power with few seeds.
    """

    resumes_from_checkpoints = True  # its Trainer gets ctx.callbacks and fits from ctx.resume_from

    def run(self, cfg: DictConfig, ctx: RunContext) -> dict[str, float]:
        from hydra.utils import instantiate

        model = instantiate(cfg.model, optimizer=instantiate(cfg.optim))
        data = instantiate(cfg.data)
        trainer = ctx.trainer(cfg)
        ctx.fit(trainer, model, datamodule=data)
        results = trainer.validate(model, datamodule=data, verbose=False)
        correct = validation_correctness(model, data.val_dataloader())
        if correct is not None:
            write_per_example([correct], ctx.artifact_dir)
        return _as_floats(results[0]) if results else {}


def _as_floats(metrics: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items()}


def validation_correctness(model: torch.nn.Module, loader: Any) -> EvalResult | None:
    """Per-example correctness of a classifier on ``loader`` (in its fixed order) as ``val_acc``;
    None when the batches are not ``(inputs, labels)`` pairs with logits out."""
    scores = []
    model.eval()
    with torch.no_grad():
        for batch in loader:
            if not (isinstance(batch, list | tuple) and len(batch) == 2):
                return None
            logits = model(batch[0])
            if logits.dim() != 2 or logits.shape[0] != len(batch[1]):
                return None
            scores.append((logits.argmax(dim=-1) == batch[1]).float())
    if not scores:
        return None
    return EvalResult.from_correct("val_acc", torch.cat(scores).numpy())
