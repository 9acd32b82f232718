"""Encoding throughput of ``backbone.packing`` none / sort / prepack, timed in one run.

    PYTHONPATH=. python bench/packing_throughput.py [--model smollm2|minilm] [--sentences 48] [--docs 16]

A realistic length mix: STS-B train sentences and 20 Newsgroups train documents cut at 256
tokens, interleaved (three sentences, then one document). Each repetition runs the three modes back
to back (3 repetitions, one thread, the feature cache's batch of 32 texts); prints the load average
at the start, the median wall and CPU seconds, real (unpadded) tokens per wall second, the tokens
the model computed (padding included) and each mode's ratio to ``none``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import torch

from bench.results import record
from modules.backbones.encode import encode_features, packed_groups, padded_groups, token_ids
from modules.backbones.hf import Backbone, load_backbone
from modules.backbones.packing import PACKINGS

MAX_LENGTH = 256
BATCH = 32


def length_mix(sentences: int, docs: int) -> list[str]:
    """``sentences`` STS-B sentences and ``docs`` 20NG documents, a document after every three
    sentences (then the rest)."""
    from modules.data.newsgroups import load_newsgroups
    from modules.data.stsb import load_stsb

    sts = [p.sentence1 for p in load_stsb("train")[:sentences]]
    ng = [t for t in load_newsgroups("train").texts if t.strip()][:docs]
    mixed: list[str] = []
    while sts or ng:
        mixed += sts[:3] + ng[:1]
        sts, ng = sts[3:], ng[1:]
    return mixed


def computed_tokens(backbone: Backbone, texts: list[str], packing: str) -> int:
    """Token positions the model runs (rows x width), padding included."""
    ids = token_ids(backbone, texts)
    if packing == "prepack":
        groups = packed_groups(ids, backbone.max_length, BATCH)
        widths = [[sum(len(ids[k]) for k in b) for b in g] for g in groups]
    else:
        widths = [[len(ids[k]) for k in g] for g in padded_groups(ids, packing, BATCH)]
    return sum(len(w) * max(w) for w in widths)


@torch.inference_mode()
def seconds(backbone: Backbone, texts: list[str], packing: str) -> tuple[float, float]:
    """Wall and CPU seconds of encoding ``texts`` (CPU time is what a shared machine's load
    does not stretch, with one thread)."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in encode_features(backbone, texts, BATCH, packing):
        pass
    return time.perf_counter() - wall, time.process_time() - cpu


def model_source(name: str) -> str:
    from modules.backbones.bundled import minilm_l6, smollm2_135m

    if name == "minilm":
        return minilm_l6()
    return smollm2_135m(Path(os.environ.get("BACKBONE_CACHE", "outputs/cache/backbones")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=("smollm2", "minilm"), default="smollm2")
    parser.add_argument("--sentences", type=int, default=48)
    parser.add_argument("--docs", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    attention = "causal" if args.model == "smollm2" else "bidirectional"
    backbone = load_backbone(model_source(args.model), attention, MAX_LENGTH)
    texts = length_mix(args.sentences, args.docs)
    real = sum(len(i) for i in token_ids(backbone, texts))
    print(f"load average at start: {os.getloadavg()}")
    print(
        f"{args.model} ({attention}), {len(texts)} texts ({args.sentences} STS-B sentences, "
        f"{args.docs} 20NG documents cut at {MAX_LENGTH} tokens), {real} tokens, batch {BATCH}"
    )
    seconds(backbone, texts[:8], "sort")  # warm-up
    times: dict[str, list[tuple[float, float]]] = {p: [] for p in PACKINGS}
    for r in range(args.repeats):
        for packing in PACKINGS:
            times[packing].append(seconds(backbone, texts, packing))
        done = ", ".join(f"{p} {t[-1][0]:.1f} s" for p, t in times.items())
        print(f"  repetition {r + 1}: {done}", flush=True)
    wall = {p: statistics.median(w for w, _ in t) for p, t in times.items()}
    cpu = {p: statistics.median(c for _, c in t) for p, t in times.items()}
    print(
        "| packing | computed tokens | wall s | tokens/s | speedup over none | CPU s | speedup "
        "(CPU) |\n| --- | --- | --- | --- | --- | --- | --- |"
    )
    for p in PACKINGS:
        print(
            f"| {p} | {computed_tokens(backbone, texts, p)} | {wall[p]:.2f} | "
            f"{real / wall[p]:.0f} | {wall['none'] / wall[p]:.2f}x | {cpu[p]:.2f} | "
            f"{cpu['none'] / cpu[p]:.2f}x |"
        )
    inputs = {"model": args.model, "texts": len(texts), "tokens": real, "batch": BATCH, "repetitions": args.repeats}
    for slower, label, goal in (("none", "over none", "≥ 2x"), ("sort", "over sort", "> 1x")):
        ratios = [a[1] / b[1] for a, b in zip(times[slower], times["prepack"], strict=True)]  # CPU seconds
        record(f"encoding, {args.model}: prepack's tokens per CPU second {label}", statistics.median(ratios), "x",
               goal, inputs, ratios)
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
