"""The trainable poolers' cross-attention with and without projecting the keys, timed in one run.

    PYTHONPATH=. python bench/cross_attention.py [--repeats 5] [--steps 20]

One forward + backward pass of ``CrossAttention`` at the flagship's shapes (``pooling_grid``: 32
triplets = 96 texts per step, SmolLM2's 576 features, 4 latents x 4 heads x 32), keys = a padded
batch of token states (``latent_attention``) or the 30 layer vectors (``multilayer``). Both methods
compute the same function (``tests/modules/embedding/test_embedding_blocks.py``); the pooler picks
``attend_unprojected`` when it has fewer queries than the head width. One CPU thread, as in a
trial; median milliseconds per step of interleaved repetitions, and their ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from modules.embedding.poolers.blocks import CrossAttention

HIDDEN, HEADS, HEAD_DIM, LATENTS, TEXTS = 576, 4, 32, 4, 96
KEYS = {"latent_attention (48 tokens)": 48, "multilayer (30 layers)": 30}


def step_ms(block: CrossAttention, method: str, keys: torch.Tensor, steps: int) -> float:
    latents = torch.randn(LATENTS, HIDDEN, requires_grad=True)
    mask = torch.ones(keys.shape[:2], dtype=torch.bool)
    attend = getattr(block, method)
    start = time.process_time()
    for _ in range(steps):
        q = block.q(latents).view(LATENTS, HEADS, HEAD_DIM).transpose(0, 1)  # shared by the batch
        out = block.out(attend(q, keys, mask).transpose(1, 2).flatten(2))
        out.square().mean().backward()
    return 1000 * (time.process_time() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    block = CrossAttention(HIDDEN, HEADS, HEAD_DIM)
    rows = {}
    for name, n in KEYS.items():
        keys = torch.randn(TEXTS, n, HIDDEN)
        times: dict[str, list[float]] = {"attend_projected": [], "attend_unprojected": []}
        for _ in range(args.repeats):
            for method, samples in times.items():
                samples.append(step_ms(block, method, keys, args.steps))
        medians = {m: statistics.median(t) for m, t in times.items()}
        ratio = medians["attend_projected"] / medians["attend_unprojected"]
        rows[name] = {**{m: round(v, 2) for m, v in medians.items()}, "speedup": round(ratio, 2)}
        print(f"{name}: projected {medians['attend_projected']:.1f} ms/step, unprojected "
              f"{medians['attend_unprojected']:.1f} ms/step (CPU time), {ratio:.2f}x")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
