"""Prepacking (Zhao et al., 2024, "Prepacking: A Simple Method for Fast Prefilling and Increased
Throughput in Large Language Models", arXiv 2404.09529): several texts share one row of a batch.

Texts are packed into bins of at most ``capacity`` tokens by first-fit decreasing; each row gets a
block-diagonal attention mask (causal or bidirectional inside each text, nothing across texts) and
position ids that restart at 0 for every text, so each text's states equal its states alone in a
padded batch. ``PackedBatch.features`` unpacks what the poolers read: the per-layer last-token and
mean vectors of every text and its last-layer token states.

Official code (siyan-zhao/prepacking): ``processor.py`` (commit 1a40ef32) lines 37-50 restart
the positions per text and build one lower-triangular block per text, and line 65 takes the
batch's longest text as the bin size (here: ``max_length``, so whole text lists pack densely);
``utils.py`` (commit 2309e689) lines 36-37 pack with ``binpacking.to_constant_volume``. That
package (2.0.1) is not used here: its ``to_constant_volume`` puts each item into the *least
loaded* bin that fits (worst-fit decreasing, not first-fit) and scans every open bin in pure
Python per item; first-fit decreasing on a numpy array of free space is a few lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from modules.backbones.features import TokenFeatures

PACKINGS = ("none", "sort", "prepack")
# the fastest on CPU in bench/packing_throughput.py, with the least padding (bench/README.md)
DEFAULT_PACKING = "prepack"
ATTENTIONS = ("causal", "bidirectional")


def first_fit_decreasing(lengths: Sequence[int], capacity: int) -> list[list[int]]:
    """Indices of ``lengths`` grouped into bins of total at most ``capacity``, longest first,
    each into the first open bin with room (a new bin when none has)."""
    if any(n > capacity for n in lengths):
        raise ValueError(f"an item is longer than the bin capacity {capacity}")
    free = np.zeros(0, dtype=np.int64)
    bins: list[list[int]] = []
    for i in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        fits = np.flatnonzero(free >= lengths[i])
        if fits.size:
            b = int(fits[0])
        else:
            b = len(bins)
            bins.append([])
            free = np.append(free, capacity)
        bins[b].append(i)
        free[b] -= lengths[i]
    return bins


def block_mask_4d(segments: torch.Tensor, attention: str, dtype: torch.dtype) -> torch.Tensor:
    """The additive ``[R, 1, T, T]`` mask of packed rows: query i reads key j only inside the same
    text (``segments`` ``[R, T]``: 1, 2, ... per text, 0 on padding), causally if asked. Every query
    also reads itself, so padding rows never produce NaN (as ``hf.attention_mask_4d``)."""
    if attention not in ATTENTIONS:
        raise ValueError(f"attention must be one of {ATTENTIONS}, got {attention!r}")
    t = segments.shape[1]
    same = segments[:, :, None] == segments[:, None, :]
    allowed = same & (segments[:, None, :] > 0)
    if attention == "causal":
        allowed = allowed & torch.ones(t, t, dtype=torch.bool, device=segments.device).tril()
    allowed = (allowed | torch.eye(t, dtype=torch.bool, device=segments.device))[:, None]
    zero = torch.zeros((), dtype=dtype, device=segments.device)
    return torch.where(allowed, zero, torch.finfo(dtype).min)


@dataclass
class PackedBatch:
    """Rows of packed token ids; text ``k`` sits in row ``row[k]`` at ``start[k]`` for
    ``length[k]`` tokens."""

    input_ids: torch.Tensor  # [R, T]
    position_ids: torch.Tensor  # [R, T], restarting at 0 for each text
    segments: torch.Tensor  # [R, T], 1.. per text within its row, 0 on padding
    row: torch.Tensor  # [n]
    start: torch.Tensor  # [n]
    length: torch.Tensor  # [n]

    @classmethod
    def build(cls, ids: Sequence[Sequence[int]], bins: Sequence[Sequence[int]], pad_id: int):
        """Pack ``ids[k]`` for the texts ``k`` of each bin, bin by bin; the texts are numbered in
        the order they appear in ``bins``."""
        width = max(sum(len(ids[k]) for k in b) for b in bins)
        shape = (len(bins), width)
        input_ids = torch.full(shape, pad_id, dtype=torch.long)
        position_ids = torch.zeros(shape, dtype=torch.long)
        segments = torch.zeros(shape, dtype=torch.long)
        row, start, length = [], [], []
        for r, members in enumerate(bins):
            at = 0
            for s, k in enumerate(members, start=1):
                n = len(ids[k])
                input_ids[r, at : at + n] = torch.as_tensor(ids[k])
                position_ids[r, at : at + n] = torch.arange(n)
                segments[r, at : at + n] = s
                row.append(r), start.append(at), length.append(n)
                at += n
        as_long = lambda v: torch.tensor(v, dtype=torch.long)  # noqa: E731
        return cls(input_ids, position_ids, segments, as_long(row), as_long(start), as_long(length))

    def to(self, device: torch.device | str) -> PackedBatch:
        return PackedBatch(*(getattr(self, f).to(device) for f in self.__dataclass_fields__))

    def _flat_index(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``[n, Tmax]`` positions of each text's tokens in the flattened ``[R * T]`` rows, and the
        mask of real tokens."""
        width = self.input_ids.shape[1]
        steps = torch.arange(int(self.length.max()), device=self.length.device)
        mask = steps[None, :] < self.length[:, None]
        index = self.row[:, None] * width + self.start[:, None] + steps[None, :]
        return torch.where(mask, index, 0), mask.long()

    def features(self, hidden_states: Sequence[torch.Tensor]) -> TokenFeatures:
        """Per text: last-layer token states (right-padded to the longest text), and every layer's
        last-token state and mean over its tokens."""
        index, mask = self._flat_index()
        flat = torch.stack(hidden_states).flatten(1, 2)  # [L + 1, R * T, H]
        last = (self.row * self.input_ids.shape[1] + self.start + self.length - 1).long()
        weights = mask.to(flat.dtype) / self.length[:, None].to(flat.dtype)
        averaging = torch.zeros(len(self.row), flat.shape[1], dtype=flat.dtype, device=flat.device)
        averaging.scatter_add_(1, index, weights)
        tokens = flat[-1][index] * mask[..., None].to(flat.dtype)
        return TokenFeatures(
            tokens=tokens,
            mask=mask,
            layer_last=flat[:, last].transpose(0, 1),
            layer_mean=torch.matmul(averaging, flat).transpose(0, 1),
        )

    def unpack(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """One layer's packed ``[R, T, H]`` states laid out as the padded batch of ``mask``
        ``[n, T']`` (left or right padding; zeros on padding)."""
        index, own = self._flat_index()
        real = states.flatten(0, 1)[index][own.bool()]  # every text's tokens, text after text
        out = states.new_zeros(*mask.shape, states.shape[-1])
        out[mask.bool()] = real
        return out
