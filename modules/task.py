"""The task interface: how one trial runs a study's procedure.

A task is built from the ``task`` config group (``_target_``) and called once per trial. The
orchestration (``sweeps/``) hands it the trial's full config and a :class:`RunContext`; the task
returns its final metrics. Studies that are not a single ``Trainer.fit`` (continual learning over a
task sequence, staged data selection) ship their own task class and a ``conf/task/<name>.yaml``;
nothing in ``sweeps/`` changes. A task whose trials fine-tune one architecture from one
initialization can also save their weights (:func:`save_weights`) and score any weights
(:class:`EvaluatesWeights`): ``python -m sweeps.soup`` then averages them into model soups.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
import torch
from lightning import Callback
from omegaconf import DictConfig

from modules.evaluation.per_example import write_per_example
from modules.evaluation.result import EvalResult

WEIGHTS_FILE = "weights.safetensors"
WEIGHTS_INFO_FILE = "weights.json"


@dataclass
class RunContext:
    """What the orchestration gives a task: callbacks to attach, where to write, what to resume.

    ``callbacks`` must be attached to every ``Trainer`` whose epochs should be reported (they report
    metrics and checkpoints to the sweep). ``artifact_dir`` is a folder for files the sweep should
    record with the trial (per-example scores, exported models). ``resume_from`` is a Lightning
    checkpoint path when a retried or resumed trial should continue, else ``None``.
    """

    callbacks: list[Callback] = field(default_factory=list)
    artifact_dir: Path = Path(".")
    resume_from: str | None = None


class Task(Protocol):
    """A study's run procedure: ``run(cfg, ctx) -> {metric: value}``.

    A task whose Trainer gets ``ctx.callbacks`` (they write the sweep's checkpoints) and fits from
    ``ctx.resume_from`` says so with a class attribute ``resumes_from_checkpoints = True``:
    population-based training (``scheduler=pbt``) needs it to clone one trial's weights into another.
    """

    def run(self, cfg: DictConfig, ctx: RunContext) -> dict[str, float]: ...


class EvaluatesWeights(Protocol):
    """A task whose trials' weights can be averaged (model soups, ``python -m sweeps.soup``).

    Its trials write their fine-tuned weights with :func:`save_weights`; ``evaluate_weights``
    scores any weights of the same architecture on the named ``splits`` ("heldout": the data that
    selects, "test": the data that reports) and returns the same metric names as ``run``, each
    prefixed by its split (e.g. ``{"heldout/acc": x, "test/acc": y}``).
    """

    def evaluate_weights(
        self,
        cfg: DictConfig,
        state_dict: dict[str, torch.Tensor],
        splits: Sequence[str] = ("heldout", "test"),
    ) -> dict[str, float]: ...


def init_fingerprint(state_dict: dict[str, torch.Tensor]) -> str:
    """A digest of a state dict's names, shapes, dtypes and values (of the initial weights)."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().cpu().contiguous()
        digest.update(f"{name}|{tuple(tensor.shape)}|{tensor.dtype}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


def save_weights(
    folder: Path, state_dict: dict[str, torch.Tensor], init: str, **info: Any
) -> None:
    """Write ``weights.safetensors`` and ``weights.json`` (``init_fingerprint`` + ``info``)."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in state_dict.items()}
    save_file(tensors, str(folder / WEIGHTS_FILE))
    meta = {"init_fingerprint": init, **info}
    (folder / WEIGHTS_INFO_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")


def load_weights(folder: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(state dict, info) as written by :func:`save_weights`."""
    from safetensors.torch import load_file

    folder = Path(folder)
    info = json.loads((folder / WEIGHTS_INFO_FILE).read_text())
    return load_file(str(folder / WEIGHTS_FILE)), info


def _as_floats(metrics: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items()}


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
        trainer = instantiate(cfg.trainer, callbacks=[*ctx.callbacks, *extra_callbacks(cfg)])
        trainer.fit(model, datamodule=data, ckpt_path=ctx.resume_from)
        results = trainer.validate(model, datamodule=data, verbose=False)
        correct = validation_correctness(model, data.val_dataloader())
        if correct is not None:
            write_per_example([correct], ctx.artifact_dir)
        return _as_floats(results[0]) if results else {}


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
    score = torch.cat(scores).numpy()
    frame = pd.DataFrame({"example_id": range(len(score)), "score": score})
    return EvalResult("val_acc", float(score.mean()), per_example=frame)


def extra_callbacks(cfg: DictConfig) -> list[Callback]:
    """Lightning callbacks a config adds by name under ``callbacks`` (each a ``_target_`` node)."""
    from hydra.utils import instantiate

    nodes = cfg.get("callbacks") or {}
    return [instantiate(node) for node in nodes.values() if node is not None]
