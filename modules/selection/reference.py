"""The reference task: LAMBADA-style final-word prediction (Paperno et al., ACL 2016), built from
held-out Wikipedia paragraphs, as MATES (Yu et al., NeurIPS 2024) probes with LAMBADA.

An item is the ``context`` tokens before a sentence-final word followed by that word's tokens;
its loss is the mean negative log-likelihood of the word's tokens only. Items are built from
character offsets of one tokenization of each article, so the word's tokens are exactly those
the tokenizer produced in running text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

SENTENCE_END = re.compile(r"\b([A-Za-z]{4,})[.!?](?=\s|$)")


@dataclass
class ReferenceSet:
    """Items as rows of ``ids`` (context then target, right-padded with 0); ``target`` marks the
    target word's token positions."""

    ids: torch.Tensor
    target: torch.Tensor

    def __len__(self) -> int:
        return int(self.ids.shape[0])


def final_word_items(
    text: str, tokenizer, context: int, max_target_tokens: int = 3
) -> list[tuple[list[int], list[int]]]:
    """Every (context ids, target ids) in ``text`` whose target is a sentence-final word of at
    least four letters with at least ``context`` tokens before it (ids are the tokenizer's)."""
    enc = tokenizer(text, return_offsets_mapping=True, add_special_tokens=False)
    ids, offsets = enc["input_ids"], enc["offset_mapping"]
    starts = np.array([s for s, _ in offsets])
    ends = np.array([e for _, e in offsets])
    items = []
    for match in SENTENCE_END.finditer(text):
        s, e = match.span(1)
        inside = np.nonzero((ends > s) & (starts < e))[0]
        if len(inside) == 0 or len(inside) > max_target_tokens or inside[0] < context:
            continue
        if ends[inside[-1]] != e or starts[inside[0]] > s:
            continue  # the word shares a token with its neighbours
        first = int(inside[0])
        items.append((ids[first - context : first], [ids[i] for i in inside]))
    return items


def reference_set(items: list[tuple[list[int], list[int]]]) -> ReferenceSet:
    """Pack (context, target) items, already in model ids, into a :class:`ReferenceSet`."""
    width = max(len(c) + len(t) for c, t in items)
    ids = torch.zeros(len(items), width, dtype=torch.long)
    target = torch.zeros(len(items), width, dtype=torch.bool)
    for row, (ctx, tgt) in enumerate(items):
        ids[row, : len(ctx) + len(tgt)] = torch.tensor(list(ctx) + list(tgt))
        target[row, len(ctx) : len(ctx) + len(tgt)] = True
    return ReferenceSet(ids, target)


def _causal_parts(model: nn.Module) -> tuple[nn.Module, nn.Module]:
    return model.base_model, model.get_output_embeddings()


@torch.no_grad()
def reference_losses(model: nn.Module, ref: ReferenceSet, batch_size: int = 64) -> torch.Tensor:
    """Each item's mean NLL over its target tokens, ``(n,)``. Only the target positions go
    through the output layer (the softmax is the expensive part of a small LM)."""
    body, head = _causal_parts(model)
    was_training = model.training
    model.eval()
    out = []
    for start in range(0, len(ref), batch_size):
        ids = ref.ids[start : start + batch_size]
        mask = ref.target[start : start + batch_size, 1:]
        hidden = body(input_ids=ids).last_hidden_state[:, :-1]
        nll = F.cross_entropy(head(hidden[mask]), ids[:, 1:][mask], reduction="none")
        rows = torch.nonzero(mask)[:, 0]
        per_item = torch.zeros(len(ids)).index_add_(0, rows, nll)
        out.append(per_item / mask.sum(dim=1).clamp(min=1))
    model.train(was_training)
    return torch.cat(out)


def reference_loss(model: nn.Module, ref: ReferenceSet, batch_size: int = 64) -> float:
    """The reference-task loss: the mean of :func:`reference_losses`."""
    return float(reference_losses(model, ref, batch_size).mean())
