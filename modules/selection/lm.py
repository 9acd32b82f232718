"""The model being pretrained: a small Llama-architecture causal LM (random initialization), its
loss and warmup-then-constant learning rate with an optional final decay (AdamW with betas
0.9/0.95 and weight decay 0.1 comes from the optim config; the Lightning module that trains it is
``modules/selection/stages.py``'s :class:`CausalLMModule`), as in MATES (Yu et al.,
NeurIPS 2024, which pretrains Pythia-410M/1B at 1,024 tokens with the same recipe).

CPU default (``conf/model/llama_tiny.yaml``): hidden 128, 2 layers, 4 heads, MLP 512, tied
embeddings over a compact vocabulary of 8,192 SmolLM2 tokens (``modules/selection/pool.py``),
sequence length 128: about 1.6M parameters, 1M of them the embedding. The output softmax dominates
the cost at this size, hence the compact vocabulary.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


def build_llama(
    vocab_size: int,
    hidden_size: int = 128,
    num_layers: int = 2,
    num_heads: int = 4,
    intermediate_size: int = 512,
    max_length: int = 128,
    tie_embeddings: bool = True,
) -> nn.Module:
    """A randomly initialized ``LlamaForCausalLM`` of the given size."""
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        intermediate_size=intermediate_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_heads,
        max_position_embeddings=max_length,
        tie_word_embeddings=tie_embeddings,
        bos_token_id=None,
        eos_token_id=None,
        pad_token_id=None,
    )
    return LlamaForCausalLM(config)


def schedule(
    total_steps: int, warmup_steps: int, decay_steps: int = 0, min_ratio: float = 0.1
) -> Callable[[int], float]:
    """Learning-rate multiplier per step: linear warmup, constant, then an optional linear decay
    to ``min_ratio`` over the last ``decay_steps``."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        decay_start = total_steps - decay_steps
        if decay_steps > 0 and step >= decay_start:
            done = min(1.0, (step - decay_start + 1) / decay_steps)
            return 1.0 - (1.0 - min_ratio) * done
        return 1.0

    return factor


def lm_loss(model: nn.Module, ids: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy of a batch of sequences ``(batch, length)``."""
    return model(input_ids=ids, labels=ids).loss
