"""The one place that runs a backbone over a list of texts, batched as ``backbone.packing`` says.

- ``none``: batches of ``batch_size`` texts in the given order, each padded to its longest text;
- ``sort``: the same after sorting by token count (little padding);
- ``prepack``: texts packed into rows of at most ``max_length`` tokens by first-fit decreasing
  (``packing.py``, Zhao et al., 2024), rows batched until they hold ``batch_size`` texts.

All three give the same per-text features (up to float rounding; tested in
``tests/modules/backbones/test_packing.py``), so the frozen feature cache does not depend on it.
"""

from __future__ import annotations

from collections.abc import Iterator

from modules.backbones.features import TokenFeatures
from modules.backbones.hf import Backbone
from modules.backbones.packing import PACKINGS, PackedBatch, first_fit_decreasing


def token_ids(backbone: Backbone, texts: list[str]) -> list[list[int]]:
    """Each text's token ids (EOS-terminated, truncated to ``max_length``), unpadded."""
    return backbone.tokenizer(
        list(texts), truncation=True, max_length=backbone.max_length, return_token_type_ids=False
    )["input_ids"]


def padded_groups(ids: list[list[int]], packing: str, size: int) -> Iterator[list[int]]:
    """Texts per padded batch: ``size`` at a time, in the given order or sorted by length."""
    order = list(range(len(ids)))
    if packing == "sort":
        order.sort(key=lambda i: len(ids[i]))
    for start in range(0, len(order), size):
        yield order[start : start + size]


def packed_groups(ids: list[list[int]], capacity: int, size: int) -> Iterator[list[list[int]]]:
    """Bins per packed batch: first-fit decreasing bins, grouped until they hold ``size`` texts."""
    group: list[list[int]] = []
    for members in first_fit_decreasing([len(i) for i in ids], capacity):
        group.append(members)
        if sum(len(b) for b in group) >= size:
            yield group
            group = []
    if group:
        yield group


def encode_features(
    backbone: Backbone, texts: list[str], batch_size: int = 32, packing: str | None = None
) -> Iterator[tuple[list[int], TokenFeatures]]:
    """``(rows, features)`` per forward pass: ``features`` of ``texts[r]`` for ``r`` in ``rows``.

    ``packing`` defaults to ``backbone.packing``. Gradients flow when the caller enables them.
    """
    packing = packing or backbone.packing
    if packing not in PACKINGS:
        raise ValueError(f"packing must be one of {PACKINGS}, got {packing!r}")
    if not texts:
        return
    device = next(backbone.parameters()).device
    ids = token_ids(backbone, texts)
    if packing == "prepack":
        pad = backbone.tokenizer.pad_token_id
        for group in packed_groups(ids, backbone.max_length, batch_size):
            batch = PackedBatch.build(ids, group, pad).to(device)
            yield [k for b in group for k in b], batch.features(backbone.forward_packed(batch))
        return
    for rows in padded_groups(ids, packing, batch_size):
        enc = backbone.tokenizer.pad({"input_ids": [ids[i] for i in rows]}, return_tensors="pt")
        mask = enc["attention_mask"].to(device)
        hidden = backbone(enc["input_ids"].to(device), mask)
        yield rows, TokenFeatures.from_hidden_states(hidden, mask)
