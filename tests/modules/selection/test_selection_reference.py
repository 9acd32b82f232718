from __future__ import annotations

import torch
import torch.nn.functional as F

from modules.selection.reference import final_word_items, reference_losses, reference_set
from tests.modules.selection.tiny import tiny_lm


def test_final_word_items_cut_before_the_sentence_final_word():
    from transformers import AutoTokenizer

    from modules.embedding.bundled import minilm_l6

    tokenizer = AutoTokenizer.from_pretrained(minilm_l6())
    text = "The river flows north. Then many people visited the ancient castle. It was big."
    items = final_word_items(text, tokenizer, context=3)
    words = [tokenizer.decode(target).replace(" ", "") for _, target in items]
    assert words == ["north", "castle"]  # "big" is too short, "north" needs 3 tokens before it
    for ctx, _ in items:
        assert len(ctx) == 3
    assert tokenizer.decode(items[1][0]) == "visited the ancient"


def test_reference_losses_score_only_the_target_tokens():
    model = tiny_lm()
    items = [([3, 4, 5, 6], [7]), ([8, 9, 10], [11, 12]), ([1, 2], [13])]
    ref = reference_set(items)
    ours = reference_losses(model, ref, batch_size=2)
    with torch.no_grad():
        for row, (ctx, tgt) in enumerate(items):
            seq = torch.tensor([ctx + tgt])
            logits = model(input_ids=seq).logits[0]
            positions = range(len(ctx) - 1, len(ctx) + len(tgt) - 1)
            expected = torch.stack([F.cross_entropy(logits[p], seq[0, p + 1]) for p in positions]).mean()
            assert torch.allclose(ours[row], expected, atol=1e-5)
