"""What a stage reports, and the learning-rate decay branch evaluated in place of the model.

Each stage logs the probing target (``ref/loss``: held-out Wikipedia reference sequences), the
reported metric on *other* held-out Wikipedia articles (``eval/loss`` with its standard error
``eval/loss_se``) and each source's validation perplexity (``val/ppl/<source>``), plus what the
study's sanity contract needs: a unigram model's loss on the same sets (``eval/unigram_loss``,
``ref/unigram_loss``), the untrained model's (``eval/loss_init``) and a 0/1 flag
``sanity/eval_disjoint_from_probe`` computed from the two sets' article ids and rows.

The official code evaluates a stage's checkpoint after a short branch whose learning rate halves
every 50 steps for 200 steps (warmup-stable-decay; cxcscmu/MATES ``src/pretrain/pretrain.py``
lines 105-111 and 318-325, halving every 200 micro-steps of 4 accumulated ones, lines 42-44;
README lines 125-133), while training continues from the undecayed checkpoint:
:func:`decayed_copy` is that branch.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from modules.selection.lm import lm_loss
from modules.selection.pool import SelectionData
from modules.selection.reference import (
    disjoint,
    model_device,
    reference_loss,
    sequence_losses,
    standard_error,
    unigram_losses,
)


def constants(data: SelectionData) -> dict[str, float]:
    """The measurements that do not depend on the model: unigram losses and the disjointness flag."""
    return {
        "eval/unigram_loss": float(unigram_losses(data.unigram, data.evaluation.ids).mean()),
        "ref/unigram_loss": float(unigram_losses(data.unigram, data.reference.ids).mean()),
        "sanity/eval_disjoint_from_probe": float(disjoint(data.reference, data.evaluation)),
    }


def evaluate(model: nn.Module, data: SelectionData, batch_size: int = 16) -> tuple[dict[str, float], torch.Tensor]:
    """(the stage's evaluation metrics, each evaluation sequence's loss on the CPU)."""
    reported = sequence_losses(model, data.evaluation.ids, batch_size).float().cpu()
    metrics = {
        "ref/loss": reference_loss(model, data.reference.ids, batch_size),
        "eval/loss": float(reported.mean()),
        "eval/loss_se": standard_error(reported),
    }
    for name, ids in data.validation.items():
        metrics[f"val/ppl/{name}"] = math.exp(float(sequence_losses(model, ids, batch_size).mean()))
    return metrics, reported


def decayed_copy(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    ids: torch.Tensor,
    steps: int,
    batch_size: int,
    accumulate: int = 1,
    halvings: float = 4.0,
    clip: float = 1.0,
) -> nn.Module:
    """A copy of ``model`` after ``steps`` optimizer steps on ``ids`` (``batch_size`` sequences a
    step in ``accumulate`` micro-batches) from a copy of ``optimizer``'s state, the learning rate
    halving ``halvings`` times over the branch; ``model`` and ``optimizer`` are untouched."""
    device = model_device(model)
    branch = copy.deepcopy(model).train()
    params = list(branch.parameters())
    opt = type(optimizer)(params)
    opt.load_state_dict(copy.deepcopy(optimizer.state_dict()))
    base = [group["lr"] for group in opt.param_groups]
    micro = max(1, batch_size // accumulate)
    needed = steps * micro * accumulate
    if len(ids) < needed:
        raise ValueError(f"the decay branch needs {needed} sequences, got {len(ids)}")
    for step in range(steps):
        for group, lr in zip(opt.param_groups, base, strict=True):
            group["lr"] = lr * 0.5 ** (halvings * step / steps)
        for part in range(accumulate):
            start = (step * accumulate + part) * micro
            (lm_loss(branch, ids[start : start + micro].to(device)) / accumulate).backward()
        if clip:
            nn.utils.clip_grad_norm_(params, clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
    return branch
