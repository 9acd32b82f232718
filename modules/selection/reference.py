"""The reference task and the reported metric: mean next-token loss on held-out Wikipedia sequences.

MATES (Yu et al., NeurIPS 2024) probes against a reference task (LAMBADA in the paper: the official
code reads 1,024 ``lambada_openai`` items, cxcscmu/MATES ``src/select_data/prepare_lambada.py``
lines 79-80 and 105-107, ``src/select_data/probe_oracle_data_influence.py`` line 161) and reports
on *other* tasks (``scripts/eval.sh`` line 8). Here both are held-out Wikipedia: the *reference*
sequences (what probing optimises) and the *evaluation* sequences (what the sweep reports) come
from disjoint sets of articles, each sequence scored on all its next-token predictions, so each set
holds thousands of target tokens. :func:`disjoint` checks the two sets from their article ids and
their rows; :func:`unigram_log_probs` gives the floor a trained model must beat.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class HeldOut:
    """Sequences ``ids`` ``(n, length)`` built from the Wikipedia articles ``articles`` (their
    indices in the article list): the identity of a held-out set's items."""

    ids: torch.Tensor
    articles: np.ndarray

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @property
    def target_tokens(self) -> int:
        """How many next-token predictions the set scores."""
        return int(self.ids.shape[0] * max(self.ids.shape[1] - 1, 0))


def model_device(model: nn.Module) -> torch.device:
    """Where ``model``'s parameters live (its inputs must go there too)."""
    return next(model.parameters()).device


@torch.no_grad()
def sequence_losses(model: nn.Module, ids: torch.Tensor, batch_size: int = 16) -> torch.Tensor:
    """Each sequence's mean next-token negative log-likelihood, ``(n,)``, on the model's device
    (inputs are moved there batch by batch)."""
    device = model_device(model)
    was_training = model.training
    model.eval()
    out = []
    for start in range(0, len(ids), batch_size):
        batch = ids[start : start + batch_size].to(device)
        logits = model(input_ids=batch).logits[:, :-1]
        nll = F.cross_entropy(logits.transpose(1, 2).float(), batch[:, 1:], reduction="none")
        out.append(nll.mean(dim=1))
    model.train(was_training)
    return torch.cat(out) if out else torch.zeros(0, device=device)


def reference_loss(model: nn.Module, ids: torch.Tensor, batch_size: int = 16) -> float:
    """The mean of :func:`sequence_losses` (equal-length sequences: the mean over tokens)."""
    return float(sequence_losses(model, ids, batch_size).mean())


def unigram_log_probs(sequences: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """Log-probabilities of a unigram model fitted to ``sequences`` (add-one smoothing)."""
    counts = torch.bincount(sequences.flatten(), minlength=vocab_size).double() + 1.0
    return (counts / counts.sum()).log()


def unigram_losses(log_probs: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Each sequence's mean unigram negative log-likelihood over the same targets as
    :func:`sequence_losses` (every token but the first), ``(n,)``."""
    return -log_probs[ids[:, 1:]].mean(dim=1).float()


def disjoint(a: HeldOut, b: HeldOut) -> bool:
    """True when ``a`` and ``b`` share no article and no sequence."""
    if set(np.asarray(a.articles).tolist()) & set(np.asarray(b.articles).tolist()):
        return False
    rows = {tuple(r) for r in a.ids.tolist()}
    return not any(tuple(r) in rows for r in b.ids.tolist())


def standard_error(values: torch.Tensor) -> float:
    """Standard error of the mean of ``values`` (0 for fewer than two)."""
    n = len(values)
    return float(values.std() / n**0.5) if n > 1 else 0.0


def working_copy(model: nn.Module, device: torch.device | str | None = None) -> tuple[nn.Module, torch.device]:
    """A deep copy of ``model`` in training mode, on ``device`` (default: where ``model`` is)."""
    copied = copy.deepcopy(model)
    if device is not None:
        copied.to(device)
    return copied.train(), model_device(copied)
