"""The frozen regime's feature cache, timed in one run against what it replaces.

    PYTHONPATH=. python bench/feature_cache.py [--part trial|throughput|both]

``trial``: one frozen embedding trial (``pooling_grid``, design ``mean_causal``, on MiniLM so
that the cold build stays short; the small sizes of ``SMALL``, where the retrieval corpus, all
STS-B test sentences, is most of the texts) with a cold cache (features built inside the trial) against the same trial with the cache warm,
3 repetitions interleaved (each cold run in a fresh output folder), median times and their ratio.

``throughput``: on MiniLM (bidirectional, as ``BertModel`` runs itself), the cache builder
(``token_cache.compute_features``: every hidden state kept, per-layer summaries and the packed
last layer stored, batched as ``backbone.packing`` says) against a bare ``AutoModel`` forward
pass over the same texts in their given order, padded per batch, at batch sizes 1, 8 and 32 (its
best counts). Texts: the length mix of ``packing_throughput.py``. Real (unpadded) tokens per CPU
second (one thread), median of 3.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from packing_throughput import length_mix, model_source  # noqa: E402

from bench.results import record  # noqa: E402

SMALL = [
    "backbone=minilm_l6",
    "design=mean_causal",
    "trainer.max_epochs=1",
    "data.train_limit=32",
    "data.dev_limit=8",
    "data.dev_pairs=16",
    "evaluation.sts_pairs=32",
    "evaluation.retrieval_queries=8",
    "evaluation.classification_train=20",
    "evaluation.classification_test=20",
    "evaluation.clustering_docs=20",
    "evaluation.max_chars=300",
    "evaluation.heldout=false",
]
BARE_BATCHES = (1, 8, 32)


def one_trial(output_dir: Path, name: str) -> float:
    from modules.contract.run import RunContext
    from modules.embedding.task import EmbeddingTask
    from sweeps.config import compose_config, resolve

    cfg = resolve(
        compose_config(["+experiment=pooling_grid", f"paths.output_dir={output_dir}", *SMALL])
    )
    start = time.perf_counter()
    EmbeddingTask().run(cfg, RunContext(artifact_dir=output_dir / name))
    return time.perf_counter() - start


def cache_size(output_dir: Path) -> str:
    (texts,) = (output_dir / "cache" / "features").glob("*.texts.json")
    data = torch.load(str(texts)[: -len(".texts.json")], weights_only=True)
    n = len(json.loads(texts.read_text(encoding="utf-8")))
    return f"{n} texts, {int(data['offsets'][-1])} tokens"


def trial_part(repeats: int) -> None:
    cold, warm, size = [], [], ""
    for r in range(repeats):
        with tempfile.TemporaryDirectory(prefix="bench-cache-") as tmp:
            out = Path(tmp)
            cold.append(one_trial(out, f"cold{r}"))
            warm.append(one_trial(out, f"warm{r}"))
            size = cache_size(out)
        print(f"  repetition {r + 1}: cold {cold[-1]:.1f} s, warm {warm[-1]:.1f} s", flush=True)
    c, w = statistics.median(cold), statistics.median(warm)
    print(f"frozen trial (MiniLM, {size}; {' '.join(SMALL)}):")
    print(f"| cache | seconds (median of {repeats}) | ratio |\n| --- | --- | --- |")
    print(f"| cold (built in the trial) | {c:.1f} | 1 |\n| warm | {w:.1f} | {c / w:.1f}x faster |")
    ratios = [a / b for a, b in zip(cold, warm, strict=True)]
    record("a frozen trial with a warm feature cache: cold time / warm", statistics.median(ratios), "x", "≥ 10x",
           {"trial": SMALL, "cache": size, "repetitions": repeats}, ratios)


def cpu_seconds(run) -> float:
    """CPU seconds of ``run()`` (one thread: what a shared machine's load does not stretch)."""
    start = time.process_time()
    run()
    return time.process_time() - start


@torch.inference_mode()
def bare_forward(model, tokenizer, texts: list[str], batch: int) -> None:
    for i in range(0, len(texts), batch):
        enc = tokenizer(
            texts[i : i + batch], padding=True, truncation=True, max_length=256, return_tensors="pt"
        )
        model(**enc)


def throughput_part(repeats: int, sentences: int, docs: int) -> None:
    from transformers import AutoModel, AutoTokenizer

    from modules.backbones.encode import token_ids
    from modules.backbones.hf import load_backbone
    from modules.backbones.token_cache import compute_features

    source = model_source("minilm")
    backbone = load_backbone(source, "bidirectional", 256)  # BertModel's own attention
    model = AutoModel.from_pretrained(source, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(source)
    tokenizer.pad_token = tokenizer.pad_token or tokenizer.eos_token
    texts = length_mix(sentences, docs)
    ours_tokens = sum(len(i) for i in token_ids(backbone, texts))
    bare_tokens = sum(
        len(i) for i in tokenizer(texts, truncation=True, max_length=256)["input_ids"]
    )
    compute_features(backbone, texts[:8], 32)  # warm-up
    ours, bare = {p: [] for p in ("sort", "prepack")}, {b: [] for b in BARE_BATCHES}
    for _ in range(repeats):
        for packing, times in ours.items():
            backbone.packing = packing
            times.append(cpu_seconds(lambda: compute_features(backbone, texts, 32)))
        for b in BARE_BATCHES:
            bare[b].append(cpu_seconds(lambda b=b: bare_forward(model, tokenizer, texts, b)))
    rates = {b: bare_tokens / statistics.median(t) for b, t in bare.items()}
    best = max(rates, key=rates.get)
    print(
        f"encoding throughput (MiniLM, {len(texts)} texts: {sentences} STS-B sentences, "
        f"{docs} 20NG documents cut at 256 tokens):"
    )
    print("| encoder | tokens per CPU second | ratio to the best bare batch |\n| --- | --- | --- |")
    for b, rate in rates.items():
        print(f"| bare AutoModel forward, batch {b} | {rate:.0f} | {rate / rates[best]:.2f} |")
    for packing, times in ours.items():
        mine = ours_tokens / statistics.median(times)
        print(
            f"| feature cache builder, {packing}, batch 32 | {mine:.0f} | {mine / rates[best]:.2f} |"
        )
        if packing == "prepack":
            record("the feature cache builder's tokens per CPU second / a bare forward at its best batch",
                   mine / rates[best], "x", "≥ 0.9", {"texts": len(texts), "best bare batch": best,
                                                     "repetitions": repeats})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=("trial", "throughput", "both"), default="both")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sentences", type=int, default=48)
    parser.add_argument("--docs", type=int, default=16)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.set_num_threads(1)
    print(f"load average at start: {os.getloadavg()}")
    if args.part in ("trial", "both"):
        trial_part(args.repeats)
    if args.part in ("throughput", "both"):
        throughput_part(args.repeats, args.sentences, args.docs)
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
