"""The tagged candidate pool and the held-out sets of the selection study.

Documents of each source (``modules/selection/sources.py``) are tokenized with the bundled
SmolLM2 tokenizer, joined with ``<|endoftext|>`` and cut into fixed-length sequences, each tagged
with its source; the tag is for the analysis only, a selector never sees it. Wikipedia articles are
split first (by a fixed ``split_seed``) into disjoint parts: the reference sequences (what probing
optimises), the evaluation sequences (what the sweep reports), the held-out text of the perplexity
filter's reference LM, and the rest, which feeds the pool and the per-source validation.

The language model reads a compact vocabulary: the ``vocab_size - 1`` most frequent SmolLM2
tokens of all the study's text, everything else one unknown token (id 0); the softmax over the
full 49,152 tokens would dominate a model this small.

Everything is built once per configuration and cached (``cache_dir``); concurrent trials wait on a
file lock. The pool does not depend on the trial's seed.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from modules.backbones.cache import build_once, content_key, file_lock
from modules.selection.reference import HeldOut, unigram_log_probs

UNK = 0
EOS_TOKEN = "<|endoftext|>"


@dataclass
class SelectionData:
    """What a trial needs: the pool (compact ids, texts, source tags), the held-out sets and the
    vocabulary size. ``validation`` maps a source to held-out sequences of that source;
    ``reference`` is what probing optimises, ``evaluation`` what the sweep reports (disjoint
    Wikipedia articles); ``unigram`` the log-probabilities of a unigram model of the pool."""

    pool_ids: torch.Tensor
    pool_texts: list[str]
    pool_source: np.ndarray
    sources: list[str]
    validation: dict[str, torch.Tensor]
    reference: HeldOut
    evaluation: HeldOut
    heldout: torch.Tensor
    unigram: torch.Tensor
    vocab_size: int
    digest: str = ""
    info: dict[str, float] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.pool_ids.shape[0])


def smollm2_tokenizer(cache_dir: str | Path):
    """The SmolLM2 tokenizer, read from the bundled GGUF once and saved under ``cache_dir``."""
    from transformers import AutoTokenizer

    from modules.backbones.bundled import SMOLLM2_GGUF, SMOLLM2_PACKAGE, package_dir

    target = Path(cache_dir).expanduser() / "smollm2_tokenizer"
    if not (target / "tokenizer.json").exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        with file_lock(target):
            if not (target / "tokenizer.json").exists():
                gguf = AutoTokenizer.from_pretrained(package_dir(SMOLLM2_PACKAGE), gguf_file=SMOLLM2_GGUF)
                gguf.save_pretrained(target)
    return AutoTokenizer.from_pretrained(target)


def chunk(docs: Iterable[str], tokenizer, length: int, limit: int, batch: int = 64) -> list[list[int]]:
    """Up to ``limit`` sequences of ``length`` tokens from the documents joined with EOS."""
    eos = tokenizer.convert_tokens_to_ids(EOS_TOKEN)
    docs = list(docs)
    stream: list[int] = []
    out: list[list[int]] = []
    for start in range(0, len(docs), batch):
        for ids in tokenizer(docs[start : start + batch], add_special_tokens=False)["input_ids"]:
            stream.extend([*ids, eos])
        while len(stream) >= length and len(out) < limit:
            out.append(stream[:length])
            stream = stream[length:]
        if len(out) >= limit:
            break
    return out


def compact_vocab(sequences: Iterable[Iterable[int]], size: int, full_size: int) -> torch.Tensor:
    """A map from tokenizer ids to ``size`` model ids: the most frequent tokens get 1..size-1,
    the rest ``UNK``."""
    counts = Counter(i for seq in sequences for i in seq)
    mapping = torch.full((full_size,), UNK, dtype=torch.long)
    for new, (old, _) in enumerate(counts.most_common(size - 1), start=1):
        mapping[old] = new
    return mapping


def split_indices(n: int, counts: list[int], seed: int) -> list[np.ndarray]:
    """A fixed random partition of ``range(n)``: parts of ``counts`` items, then the rest."""
    if sum(counts) >= n:
        raise ValueError(f"cannot take {counts} held-out documents from {n}: nothing left for the pool")
    order = np.random.default_rng(seed).permutation(n)
    bounds = np.cumsum([0, *counts])
    return [order[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)] + [order[bounds[-1] :]]


def _split(docs: list[str], counts: list[int], seed: int) -> list[list[str]]:
    return [[docs[i] for i in part] for part in split_indices(len(docs), counts, seed)]


def _progress(message: str) -> None:
    print(f"[selection] {message}", file=sys.stderr, flush=True)


@dataclass
class WikiSplit:
    """The Wikipedia articles set aside (their indices in the article list, and their texts)."""

    articles: list[str]
    reference: np.ndarray
    evaluation: np.ndarray
    heldout: np.ndarray
    rest: np.ndarray

    @classmethod
    def make(cls, articles: list[str], reference: int, evaluation: int, heldout: int, seed: int) -> WikiSplit:
        return cls(articles, *split_indices(len(articles), [reference, evaluation, heldout], seed))

    def texts(self, part: np.ndarray) -> list[str]:
        return [self.articles[i] for i in part]


def build_data(
    docs: dict[str, list[str]],
    wiki: WikiSplit,
    tokenizer,
    *,
    pool_per_source: int,
    val_per_source: int,
    heldout_sequences: int,
    reference_sequences: int,
    eval_sequences: int,
    seq_len: int,
    vocab_size: int,
    seed: int,
) -> SelectionData:
    """Tokenize, chunk, tag and map to the compact vocabulary (see the module docstring). Each
    source's documents are split (``seed``): a tenth for validation, the rest for the pool."""
    raw: dict[str, list[list[int]]] = {}
    val_raw: dict[str, list[list[int]]] = {}
    for name, documents in docs.items():
        val_docs, pool_docs = _split(documents, [max(1, len(documents) // 10)], seed)
        val_raw[name] = chunk(val_docs, tokenizer, seq_len, val_per_source)
        raw[name] = chunk(pool_docs, tokenizer, seq_len, pool_per_source)
        _progress(f"{name}: {len(raw[name])} pool / {len(val_raw[name])} validation sequences")
    held = chunk(wiki.texts(wiki.heldout), tokenizer, seq_len, heldout_sequences)
    ref = chunk(wiki.texts(wiki.reference), tokenizer, seq_len, reference_sequences)
    evaluation = chunk(wiki.texts(wiki.evaluation), tokenizer, seq_len, eval_sequences)
    _progress(f"wikipedia: {len(ref)} reference / {len(evaluation)} evaluation sequences")
    every = [*(s for seqs in raw.values() for s in seqs), *(s for v in val_raw.values() for s in v),
             *held, *ref, *evaluation]
    mapping = compact_vocab(every, vocab_size, len(tokenizer))

    sources = list(docs)
    seqs = [s for name in sources for s in raw[name]]
    tags = np.concatenate([np.full(len(raw[name]), i) for i, name in enumerate(sources)])
    order = np.random.default_rng(seed).permutation(len(seqs))
    pool_raw = [seqs[i] for i in order]
    pool_ids = mapping[torch.tensor(pool_raw, dtype=torch.long)]
    as_ids = lambda rows: mapping[torch.tensor(rows, dtype=torch.long).view(-1, seq_len)]  # noqa: E731
    return SelectionData(
        pool_ids=pool_ids,
        pool_texts=tokenizer.batch_decode(pool_raw, skip_special_tokens=True),
        pool_source=tags[order].astype(np.int64),
        sources=sources,
        validation={n: as_ids(v) for n, v in val_raw.items()},
        reference=HeldOut(as_ids(ref), np.sort(wiki.reference)),
        evaluation=HeldOut(as_ids(evaluation), np.sort(wiki.evaluation)),
        heldout=as_ids(held),
        unigram=unigram_log_probs(pool_ids, vocab_size),
        vocab_size=vocab_size,
    )


def cached(cache_dir: str | Path, name: str, settings: dict, build: Callable[[], SelectionData]) -> SelectionData:
    """``build()`` once per ``settings`` under ``cache_dir`` (``modules.backbones.cache``: a file
    lock for concurrent trials, an atomic write)."""
    digest = content_key(settings)

    def write(partial: Path) -> None:
        data = build()
        data.digest = digest
        torch.save(data, partial)
        _progress(f"built {name}-{digest}.pt")

    path = build_once(Path(cache_dir) / f"{name}-{digest}.pt", write)
    with torch.serialization.safe_globals(_CACHE_GLOBALS()):
        return torch.load(path, weights_only=True)


def _CACHE_GLOBALS() -> list:  # noqa: N802 - what a cached SelectionData may contain, and nothing else
    from numpy.core.multiarray import _reconstruct

    dtypes = [type(np.dtype(code)) for code in ("int64", "int32", "float32", "float64", "<U1", "O", "bool")]
    return [SelectionData, HeldOut, _reconstruct, np.ndarray, np.dtype, *dtypes]


def bundled_pool(
    cache_dir: str,
    tokenizer_dir: str,
    pool_per_source: int = 700,
    val_per_source: int = 32,
    heldout_sequences: int = 256,
    reference_sequences: int = 32,
    eval_sequences: int = 64,
    seq_len: int = 128,
    vocab_size: int = 8192,
    wiki_reference_articles: int = 8,
    wiki_eval_articles: int = 12,
    wiki_heldout_articles: int = 12,
    sources: tuple[str, ...] = ("wikipedia", "friends", "newsgroups"),
    split_seed: int = 0,
) -> SelectionData:
    """The pool from the bundled Wikipedia, Friends and 20 Newsgroups text (cached)."""
    settings = {k: v for k, v in locals().items() if k not in ("cache_dir", "tokenizer_dir")}
    settings["sources"] = list(sources)
    from modules.selection.sources import SOURCES

    unknown = sorted(set(sources) - set(SOURCES))
    if unknown:
        raise ValueError(f"unknown sources {unknown}; available: {sorted(SOURCES)}")

    def build() -> SelectionData:
        tokenizer = smollm2_tokenizer(tokenizer_dir)
        wiki = WikiSplit.make(SOURCES["wikipedia"](), wiki_reference_articles, wiki_eval_articles,
                              wiki_heldout_articles, split_seed)
        docs = {name: wiki.texts(wiki.rest) if name == "wikipedia" else SOURCES[name]() for name in sources}
        return build_data(
            docs, wiki, tokenizer, pool_per_source=pool_per_source,
            val_per_source=val_per_source, heldout_sequences=heldout_sequences,
            reference_sequences=reference_sequences, eval_sequences=eval_sequences,
            seq_len=seq_len, vocab_size=vocab_size, seed=split_seed,
        )

    return cached(cache_dir, "pool", settings, build)


def read_documents(dataset_id: str, dataset_config: str | None, split: str, text_field: str, documents: int) -> list[str]:
    """The first ``documents`` texts of a Hugging Face dataset (streamed with ``datasets``), or of
    a local ``.jsonl`` file (one JSON object a line, read directly)."""
    from itertools import islice

    if dataset_id.endswith(".jsonl"):
        with open(Path(dataset_id).expanduser(), encoding="utf-8") as handle:
            return [json.loads(line)[text_field] for line in islice(handle, documents)]
    try:
        from datasets import load_dataset
    except ImportError as exc:
        raise ImportError(f"streaming {dataset_id} needs the `datasets` package (pip install datasets) "
                          "and a network") from exc
    stream = load_dataset(dataset_id, dataset_config, split=split, streaming=True)
    return [row[text_field] for row in islice(stream, documents)]


def hf_pool(
    dataset_id: str,
    cache_dir: str,
    tokenizer_dir: str,
    dataset_config: str | None = None,
    split: str = "train",
    text_field: str = "text",
    documents: int = 20000,
    doc_tokens: float = 375.0,
    pool_size: int = 100000,
    val_sequences: int = 256,
    heldout_sequences: int = 2048,
    reference_sequences: int = 64,
    eval_sequences: int = 256,
    seq_len: int = 1024,
    vocab_size: int = 49152,
    wiki_reference_articles: int = 12,
    wiki_eval_articles: int = 20,
    wiki_heldout_articles: int = 30,
    split_seed: int = 0,
) -> SelectionData:
    """A pool from a Hugging Face corpus (C4 in the paper: ``allenai/c4``, config ``en``; or a
    local ``.jsonl``), tagged as one source; the reference and evaluation sets and the perplexity
    filter's held-out text still come from the bundled Wikipedia. A hub corpus needs a network.
    ``doc_tokens`` is the mean tokens per document, for :func:`expected_sequences` only."""
    settings = {k: v for k, v in locals().items() if k not in ("cache_dir", "tokenizer_dir", "doc_tokens")}
    from modules.selection.sources import wikipedia_articles

    def build() -> SelectionData:
        texts = read_documents(dataset_id, dataset_config, split, text_field, documents)
        tokenizer = smollm2_tokenizer(tokenizer_dir)
        wiki = WikiSplit.make(wikipedia_articles(), wiki_reference_articles, wiki_eval_articles,
                              wiki_heldout_articles, split_seed)
        name = Path(dataset_id).stem if dataset_id.endswith(".jsonl") else dataset_id.split("/")[-1]
        return build_data(
            {name: texts}, wiki, tokenizer,
            pool_per_source=pool_size, val_per_source=val_sequences,
            heldout_sequences=heldout_sequences, reference_sequences=reference_sequences,
            eval_sequences=eval_sequences, seq_len=seq_len, vocab_size=vocab_size, seed=split_seed,
        )

    return cached(cache_dir, "hf-pool", settings, build)
