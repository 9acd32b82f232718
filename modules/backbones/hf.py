"""A Hugging Face backbone that returns every hidden state, with an attention switch.

``attention="bidirectional"`` lets every token attend to every non-pad token, also in decoders
(SmolLM2, Llama, Mistral, Qwen2), as in LLM2Vec (BehnamGhader et al., 2024) and NV-Embed
(Lee et al., 2024); ``attention="causal"`` restricts every token to itself and earlier non-pad
tokens, also in encoders (MiniLM/BERT). Tang & Yang (2024, arXiv 2409.02727) compare both.

How: the model receives an explicit 4D additive mask ``[B, 1, T, T]`` built here from the padding
mask, and every attention module gets ``is_causal = False``. In transformers 5 a 4D mask is passed
through the model's mask builder unchanged, so the layers see exactly this mask. Flipping
``is_causal`` alone is not enough: a padded batch still gets a causal mask from the model's mask
builder (tested in ``tests/modules/embedding/test_embedding_backbone.py``). Every query row may also
attend to itself, so that fully padded rows (left padding under causal attention) never produce
NaN; pad keys are masked for every other query, so pad tokens never change non-pad states.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from modules.backbones.packing import (
    ATTENTIONS,
    DEFAULT_PACKING,
    PACKINGS,
    PackedBatch,
    block_mask_4d,
    first_fit_decreasing,
)

Attention = Literal["causal", "bidirectional"]


def attention_mask_4d(mask: torch.Tensor, attention: str, dtype: torch.dtype) -> torch.Tensor:
    """The additive ``[B, 1, T, T]`` mask: 0 where query i may attend key j, dtype-min elsewhere."""
    if attention not in ATTENTIONS:
        raise ValueError(f"attention must be one of {ATTENTIONS}, got {attention!r}")
    t = mask.shape[1]
    allowed = mask[:, None, None, :].bool().expand(-1, 1, t, t)
    if attention == "causal":
        allowed = allowed & torch.ones(t, t, dtype=torch.bool, device=mask.device).tril()
    allowed = allowed | torch.eye(t, dtype=torch.bool, device=mask.device)
    zero = torch.zeros((), dtype=dtype, device=mask.device)
    return torch.where(allowed, zero, torch.finfo(dtype).min)


def disable_builtin_causality(model: nn.Module) -> None:
    """Set ``is_causal = False`` on every module that has it (the mask alone decides)."""
    for module in model.modules():
        if hasattr(module, "is_causal"):
            module.is_causal = False


def ensure_eos_and_pad(tokenizer) -> None:
    """Make the tokenizer end every text with EOS (for last-token pooling) and set a pad token.

    Encoders that already close with ``[SEP]`` are left alone; decoder tokenizers (SmolLM2, Llama)
    get a post-processor appending EOS. The pad token falls back to EOS.
    """
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.sep_token
    ids = tokenizer("a")["input_ids"]
    closers = {tokenizer.eos_token_id, tokenizer.sep_token_id} - {None}
    if ids and ids[-1] in closers:
        return
    eos = tokenizer.eos_token
    if eos is None:
        raise ValueError("tokenizer has no EOS token: last-token pooling needs one")
    from tokenizers import processors

    backend = tokenizer.backend_tokenizer
    bos = tokenizer.bos_token if ids and ids[0] == tokenizer.bos_token_id else None
    single = f"{bos} $A {eos}" if bos else f"$A {eos}"
    pair = f"{bos} $A {eos} $B:1 {eos}:1" if bos else f"$A {eos} $B:1 {eos}:1"
    specials = [(eos, tokenizer.eos_token_id)] + ([(bos, tokenizer.bos_token_id)] if bos else [])
    backend.post_processor = processors.TemplateProcessing(
        single=single, pair=pair, special_tokens=specials
    )
    if tokenizer("a")["input_ids"][-1] != tokenizer.eos_token_id:
        raise RuntimeError("could not make the tokenizer append EOS")


class Backbone(nn.Module):
    """A transformer returning all hidden states (embeddings + one per layer) under an explicit
    attention mode. ``tokenize`` pads and truncates to ``max_length``. ``packing`` is how text
    lists are batched (``encode.encode_features``): ``none``, ``sort`` or ``prepack``."""

    def __init__(
        self,
        model: nn.Module,
        tokenizer,
        attention: str = "causal",
        max_length: int = 64,
        packing: str = DEFAULT_PACKING,
    ) -> None:
        super().__init__()
        if attention not in ATTENTIONS:
            raise ValueError(f"attention must be one of {ATTENTIONS}, got {attention!r}")
        if packing not in PACKINGS:
            raise ValueError(f"packing must be one of {PACKINGS}, got {packing!r}")
        self.model = model
        self.tokenizer = tokenizer
        self.attention = attention
        self.max_length = max_length
        self.packing = packing
        self.source: str | None = None  # the folder the weights came from, while unchanged
        ensure_eos_and_pad(tokenizer)
        disable_builtin_causality(model)

    @property
    def hidden_size(self) -> int:
        return int(self.model.config.hidden_size)

    @property
    def num_layers(self) -> int:
        return int(self.model.config.num_hidden_layers)

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        """Token ids and the padding mask of ``texts`` (padded to the longest, EOS-terminated)."""
        return self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
            return_token_type_ids=False,
        )

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        """All hidden states, a tuple of ``num_layers + 1`` tensors ``[B, T, H]``."""
        dtype = next(self.model.parameters()).dtype
        mask4d = attention_mask_4d(attention_mask, self.attention, dtype)
        out = self.model(
            input_ids=input_ids,
            attention_mask=mask4d,
            output_hidden_states=True,
            use_cache=False,
            return_dict=True,
        )
        return tuple(out.hidden_states)

    def forward_packed(self, batch: PackedBatch) -> tuple[torch.Tensor, ...]:
        """All hidden states of packed rows (``packing.PackedBatch``): a block-diagonal mask and
        position ids restarting per text (BERT's absolute positions restart too)."""
        dtype = next(self.model.parameters()).dtype
        out = self.model(
            input_ids=batch.input_ids,
            attention_mask=block_mask_4d(batch.segments, self.attention, dtype),
            position_ids=batch.position_ids,
            output_hidden_states=True,
            use_cache=False,
            return_dict=True,
        )
        return tuple(out.hidden_states)

    def states(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        """``forward`` of a padded batch, run as packed rows when ``packing == "prepack"`` (the
        states come back in the batch's padded layout)."""
        if self.packing != "prepack":
            return self(input_ids, attention_mask)
        keep = attention_mask.bool()
        ids = [row[m].tolist() for row, m in zip(input_ids, keep, strict=True)]
        capacity = max(self.max_length, max(len(i) for i in ids))
        bins = first_fit_decreasing([len(i) for i in ids], capacity)
        batch = PackedBatch.build(ids, bins, int(self.tokenizer.pad_token_id))
        batch = batch.to(input_ids.device)
        order = torch.tensor([k for b in bins for k in b], device=input_ids.device)
        mask = attention_mask[order]  # the packed texts' order
        inverse = torch.argsort(order)
        return tuple(batch.unpack(h, mask)[inverse] for h in self.forward_packed(batch))


def load_backbone(
    source: str,
    attention: str = "causal",
    max_length: int = 64,
    dtype: str = "float32",
    name: str | None = None,
    packing: str = DEFAULT_PACKING,
) -> Backbone:
    """Load ``source`` (a local folder or a hub id) with ``AutoModel`` and ``AutoTokenizer``.

    ``name`` is only a label (it keys the frozen feature cache). Uses eager-compatible SDPA.
    """
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(source))
    model = AutoModel.from_pretrained(str(source), dtype=getattr(torch, dtype))
    model.eval()
    backbone = Backbone(model, tokenizer, attention, max_length, packing)
    backbone.source = str(source)
    return backbone
