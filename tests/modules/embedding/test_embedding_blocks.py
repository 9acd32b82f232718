"""The trainable poolers' cross-attention: with few queries it skips the key/value projection, and
queries may be shared by the batch; either way it must stay the same function (values and
gradients) as textbook projected scaled dot-product attention."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from modules.embedding.poolers.blocks import CrossAttention

HIDDEN, HEADS, HEAD_DIM = 24, 3, 8


def projected_attention(
    block: CrossAttention, queries: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Textbook multi-head cross-attention with the block's weights."""
    b, n, _ = keys.shape
    queries = queries.expand(b, -1, -1)
    m = queries.shape[1]
    q = block.q(queries).view(b, m, HEADS, HEAD_DIM).transpose(1, 2)
    k, v = block.kv(keys).view(b, n, 2, HEADS, HEAD_DIM).permute(2, 0, 3, 1, 4)
    attended = F.scaled_dot_product_attention(q, k, v, attn_mask=mask.bool()[:, None, None, :])
    return block.out(attended.transpose(1, 2).reshape(b, m, -1))


@pytest.mark.parametrize("shared", [False, True], ids=["per-text", "shared"])
@pytest.mark.parametrize("num_queries", [2, HEAD_DIM + 1], ids=["unprojected", "projected"])
def test_cross_attention_is_projected_attention_in_values_and_gradients(num_queries, shared):
    torch.manual_seed(0)
    block = CrossAttention(HIDDEN, HEADS, HEAD_DIM).double()
    shape = (num_queries, HIDDEN) if shared else (4, num_queries, HIDDEN)
    queries = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    keys = torch.randn(4, 7, HIDDEN, dtype=torch.float64, requires_grad=True)
    mask = torch.ones(4, 7, dtype=torch.long)
    mask[0, 3:] = 0
    mask[2, :1] = 0
    weights = torch.randn(4, num_queries, HIDDEN, dtype=torch.float64)  # output: [B, M, H] always

    def value_and_grads(fn) -> list[torch.Tensor]:
        block.zero_grad()
        queries.grad = keys.grad = None
        out = fn(block, queries, keys, mask)
        (out * weights).sum().backward()
        grads = [p.grad.clone() for p in block.parameters()]
        return [out.detach(), queries.grad.clone(), keys.grad.clone(), *grads]

    expected = value_and_grads(projected_attention)
    got = value_and_grads(lambda blk, q, k, msk: blk(q, k, msk))
    for e, g in zip(expected, got, strict=True):
        torch.testing.assert_close(g, e, rtol=1e-9, atol=1e-10)


def test_masked_keys_never_change_the_output():
    torch.manual_seed(1)
    block = CrossAttention(HIDDEN, HEADS, HEAD_DIM)
    queries, keys = torch.randn(2, 4, HIDDEN), torch.randn(2, 5, HIDDEN)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    changed = keys.clone()
    changed[0, 3:] = 1e4
    torch.testing.assert_close(block(queries, changed, mask), block(queries, keys, mask))
