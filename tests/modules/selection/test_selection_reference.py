from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from modules.selection.reference import (
    HeldOut,
    disjoint,
    sequence_losses,
    standard_error,
    unigram_log_probs,
    unigram_losses,
)
from tests.modules.selection.tiny import VOCAB, tiny_lm


def test_sequence_losses_are_the_mean_next_token_loss_of_each_sequence():
    model = tiny_lm()
    ids = torch.randint(0, VOCAB, (5, 8), generator=torch.Generator().manual_seed(0))
    ours = sequence_losses(model, ids, batch_size=2)
    with torch.no_grad():
        for row in range(5):
            logits = model(input_ids=ids[row : row + 1]).logits[0, :-1]
            assert torch.allclose(ours[row], F.cross_entropy(logits, ids[row, 1:]), atol=1e-5)


def test_an_untrained_model_scores_about_log_vocab_and_a_unigram_model_its_entropy():
    ids = torch.randint(1, VOCAB, (64, 8), generator=torch.Generator().manual_seed(1))
    assert abs(float(sequence_losses(tiny_lm(), ids).mean()) - math.log(VOCAB)) < 0.1
    skewed = torch.zeros(4, 9, dtype=torch.long)
    skewed[:, 1::2] = 1  # targets: tokens 1, 0, 1, 0, ... (four 1s and four 0s per row)
    log_p = unigram_log_probs(skewed, 4)  # add-one: counts 21, 17, 1, 1 over 40
    expected = -(4 * math.log(17 / 40) + 4 * math.log(21 / 40)) / 8
    assert torch.allclose(unigram_losses(log_p, skewed), torch.full((4,), expected), atol=1e-6)


def test_disjoint_checks_article_ids_and_rows():
    a = HeldOut(torch.arange(12).view(3, 4), np.array([0, 1]))
    assert disjoint(a, HeldOut(torch.arange(12, 24).view(3, 4), np.array([2, 3])))
    assert not disjoint(a, HeldOut(torch.arange(12, 24).view(3, 4), np.array([1, 5])))
    assert not disjoint(a, HeldOut(torch.arange(4, 16).view(3, 4), np.array([7])))  # a shared row
    assert not disjoint(a, a)


def test_standard_error():
    assert abs(standard_error(torch.tensor([1.0, 3.0, 5.0, 7.0])) - float(torch.tensor([1.0, 3, 5, 7]).std()) / 2) < 1e-6
    assert standard_error(torch.tensor([2.0])) == 0.0
