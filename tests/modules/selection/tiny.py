"""Tiny synthetic pieces for the selection tests: a Llama of a few thousand parameters and a
SelectionData of random token sequences."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from modules.selection.lm import build_llama
from modules.selection.pool import SelectionData
from modules.selection.reference import HeldOut, unigram_log_probs

VOCAB, LENGTH = 32, 8


@pytest.fixture
def one_thread():
    """Tiny models gain nothing from intra-op threads, and lose much on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_lm(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_llama(VOCAB, hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32, max_length=LENGTH)


def tiny_data(pool: int = 48, seed: int = 0, overlap: bool = False) -> SelectionData:
    """Random sequences; the reference and evaluation sets come from articles 0-2 and 3-5
    (``overlap``: the evaluation set is the reference set)."""
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, VOCAB, (pool, LENGTH), generator=gen)
    reference = HeldOut(torch.randint(1, VOCAB, (6, LENGTH), generator=gen), np.arange(3))
    evaluation = reference if overlap else HeldOut(torch.randint(1, VOCAB, (6, LENGTH), generator=gen),
                                                   np.arange(3, 6))
    return SelectionData(
        pool_ids=ids,
        pool_texts=[" ".join(f"w{int(t)}" for t in row) for row in ids],
        pool_source=np.arange(pool) % 3,
        sources=["wikipedia", "friends", "newsgroups"],
        validation={"wikipedia": ids[:4], "friends": ids[4:8]},
        reference=reference,
        evaluation=evaluation,
        heldout=ids[:8],
        unigram=unigram_log_probs(ids, VOCAB),
        vocab_size=VOCAB,
        digest="tiny",
    )


def trained_optimizer(model: torch.nn.Module, data: SelectionData, steps: int = 3) -> torch.optim.AdamW:
    """AdamW (betas 0.9/0.95, weight decay 0.1) after a few steps, so its state is not empty."""
    from modules.selection.lm import lm_loss

    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, betas=(0.9, 0.95), weight_decay=0.1)
    for step in range(steps):
        loss = lm_loss(model, data.pool_ids[step * 4 : step * 4 + 4])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return optimizer
