"""Tokens/s and model FLOPs utilisation (MFU) of LoRA embedding training, the pooling study's LoRA
regime (Tang & Yang, 2024, arXiv 2409.02727; LoRA r 16 on every linear projection, mean pooling,
InfoNCE), under DDP and under DeepSpeed ZeRO-2 as the platform runs them (Ray Train workers with
``ray.train.lightning.RayDDPStrategy`` and ``sweeps.strategies.RayDeepSpeedAnyDeviceStrategy``),
with padded and with prepacked batches (``backbone.packing``: Zhao et al., 2024).

    python bench/gpu_throughput.py --gpu --model smollm2 smollm2-1.7b \
        --strategy ddp deepspeed_zero2 --packing none prepack [--workers 1] [--steps 30] [--warmup 5]
    python bench/gpu_throughput.py --model tiny --steps 2 --warmup 1 --batch 4   # on CPU: does it run

Models: ``smollm2`` (the bundled SmolLM2-135M-Instruct), ``smollm2-1.7b`` (the architecture of
SmolLM2-1.7B, 1.7B parameters, initialized at random: throughput and FLOPs do not depend on the
weights, and nothing is downloaded), ``tiny`` (two small layers, for CPU checks); all with SmolLM2's
tokenizer. Texts: STS-B sentences and 20 Newsgroups documents cut at ``--max-length`` tokens, the
length mix of ``bench/packing_throughput.py``, as (query, positive, negative) triplets.

Model FLOPs per text of ``n`` real tokens, after PaLM's accounting (Chowdhery et al., 2022,
appendix B: 6N per token plus 12 L H Q T for attention), with the base weights frozen:
``(4 N_frozen + 6 N_trainable) n + 12 L d n^2`` (forward 2N, input gradients 2N, weight gradients
2N for trainable weights only; attention scores and values forward and backward). Padding is not
counted, so the MFU shows what padding wastes. MFU = model FLOPs/s ÷ (peak × workers); the peak
is dense bf16 from NVIDIA's data sheets (H100/H200 989 TFLOP/s) or ``--peak-tflops``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODELS = ("smollm2", "smollm2-1.7b", "tiny")
STRATEGIES = ("ddp", "deepspeed_zero2")
PACKINGS = ("none", "prepack")
ROWS = "rows.json"  # in the checkpoint of each Ray Train run
PEAK_BF16_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0}  # dense, per GPU
LORA = {"r": 16, "lora_alpha": 32, "lora_dropout": 0.1, "target_modules": "all-linear"}
# SmolLM2-1.7B's config.json (a Llama): these sizes set its FLOPs
LLAMA_SIZES = {
    "smollm2-1.7b": dict(hidden_size=2048, intermediate_size=8192, num_hidden_layers=24,
                         num_attention_heads=32, num_key_value_heads=32, rope_theta=130000.0),
    "tiny": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                 num_attention_heads=4, num_key_value_heads=4),
}


def linear_weights(module: Any) -> tuple[int, int]:
    """(frozen, trainable) weights of every ``nn.Linear`` in ``module`` (LoRA's adapters are
    linear layers of their own, next to the frozen base layer they adapt)."""
    from torch import nn

    frozen = trainable = 0
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            count = sum(p.numel() for p in layer.parameters())
            if layer.weight.requires_grad:
                trainable += count
            else:
                frozen += count
    return frozen, trainable


def model_flops(frozen: int, trainable: int, layers: int, hidden: int, lengths: Sequence[int]) -> float:
    """Training FLOPs of texts of ``lengths`` real tokens (see the module docstring)."""
    dense = 4 * frozen + 6 * trainable
    return float(sum(dense * n + 12 * layers * hidden * n * n for n in lengths))


def triplets(count: int, max_length: int) -> list[tuple[str, str, str]]:
    """``count`` (query, positive, negative) triplets of the STS-B + 20NG length mix."""
    from bench.packing_throughput import length_mix

    texts = length_mix(3 * count * 3 // 4 + 3, 3 * count // 4 + 3)
    texts = [t[: 8 * max_length] for t in texts]  # the tokenizer cuts at max_length anyway
    return [tuple(texts[(3 * i + k) % len(texts)] for k in range(3)) for i in range(count)]


def build_backbone(model: str, packing: str, max_length: int, cache_dir: str, device: str = "cpu"):
    """A causal ``Backbone`` of ``model`` with LoRA adapters, packing as asked; a randomly
    initialized architecture is built on ``device`` (initializing 1.7B weights on a CPU is slow)."""
    import torch
    from transformers import AutoModel, AutoTokenizer, LlamaConfig

    from modules.backbones.bundled import smollm2_135m
    from modules.backbones.hf import Backbone, load_backbone
    from modules.backbones.regimes import apply_regime

    source = smollm2_135m(cache_dir)
    if model == "smollm2":
        backbone = load_backbone(source, "causal", max_length, packing=packing)
    else:
        tokenizer = AutoTokenizer.from_pretrained(source)
        config = LlamaConfig(vocab_size=len(tokenizer), tie_word_embeddings=True, **LLAMA_SIZES[model])
        with torch.device(device):
            weights = AutoModel.from_config(config)
        backbone = Backbone(weights, tokenizer, "causal", max_length, packing)
    return apply_regime(backbone, "lora", dict(LORA))


def make_module(backbone, lengths: dict[str, int]):
    """The study's ``EmbeddingModule`` (mean pooling, LoRA backbone), counting the real tokens and
    model FLOPs of every training step."""
    import torch

    from modules.embedding.module import EmbeddingModule
    from modules.embedding.poolers.basic import MeanPooler

    class CountingModule(EmbeddingModule):
        def __init__(self) -> None:
            super().__init__(MeanPooler(backbone.hidden_size), backbone=backbone,
                             optimizer=partial(torch.optim.AdamW, lr=1e-4))
            self.sizes = (*linear_weights(self), backbone.num_layers, backbone.hidden_size)
            self.tokens, self.flops = 0, 0.0

        def training_step(self, batch, batch_idx):
            counted = [lengths[t] for key in ("query", "positive", "negative") for t in batch[key]]
            self.tokens += sum(counted)
            self.flops += model_flops(*self.sizes, counted)
            return super().training_step(batch, batch_idx)

    return CountingModule()


def throughput_callback(warmup: int):
    """A Lightning callback timing the training steps after ``warmup`` ones; ``result`` holds the
    real tokens/s and model FLOPs/s summed over the workers."""
    import torch
    from lightning import Callback

    def synchronize() -> None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()

    class Throughput(Callback):
        def __init__(self) -> None:
            self.result: dict[str, float] = {}

        def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
            if trainer.global_step == warmup and not hasattr(self, "start"):
                synchronize()
                self.start, self.counted = time.perf_counter(), (module.tokens, module.flops)

        def on_train_end(self, trainer, module) -> None:
            synchronize()
            seconds = time.perf_counter() - self.start
            done = torch.tensor([module.tokens - self.counted[0], module.flops - self.counted[1]],
                                dtype=torch.float64, device=module.device)
            tokens, flops = trainer.strategy.reduce(done, reduce_op="sum").tolist()
            self.result = {"seconds": seconds, "tokens_per_s": tokens / seconds, "flops_per_s": flops / seconds}

    return Throughput()


def train_worker(config: dict[str, Any]) -> None:
    """One Ray Train worker: a short LoRA fit per packing under the asked strategy; reports one row
    per packing."""
    import lightning as L
    import ray.train
    import ray.train.torch
    from ray.train.lightning import RayDDPStrategy, RayLightningEnvironment, prepare_trainer
    from torch.utils.data import DataLoader

    from modules.backbones.encode import token_ids
    from modules.embedding.datamodule import collate
    from sweeps.strategies import RayDeepSpeedAnyDeviceStrategy

    # each worker reads its share of the rows (Lightning's distributed sampler): one epoch of steps each
    steps = config["warmup"] + config["steps"]
    rows = triplets(config["batch"] * steps * config["workers"], config["max_length"])
    gpu = config["gpu"]
    results = []
    for packing in config["packings"]:
        device = str(ray.train.torch.get_device()) if gpu else "cpu"
        backbone = build_backbone(config["model"], packing, config["max_length"], config["cache_dir"], device)
        texts = sorted({t for row in rows for t in row})
        lengths = dict(zip(texts, (len(ids) for ids in token_ids(backbone, texts)), strict=True))
        module = make_module(backbone, lengths)
        strategy = (RayDDPStrategy(find_unused_parameters=False) if config["strategy"] == "ddp"
                    else RayDeepSpeedAnyDeviceStrategy(stage=2))
        timer = throughput_callback(config["warmup"])
        trainer = prepare_trainer(L.Trainer(
            max_steps=steps, strategy=strategy, plugins=[RayLightningEnvironment()],
            accelerator="gpu" if gpu else "cpu", devices="auto", precision="bf16-mixed" if gpu else "32-true",
            callbacks=[timer], logger=False, enable_checkpointing=False, enable_progress_bar=False,
            enable_model_summary=False, limit_val_batches=0, num_sanity_val_steps=0,
        ))
        trainer.fit(module, train_dataloaders=DataLoader(rows, batch_size=config["batch"], collate_fn=collate))
        results.append({"packing": packing, **timer.result})
    # Ray Train (V2) keeps a report's metrics with its checkpoint only: the rows travel as one
    with tempfile.TemporaryDirectory() as folder:
        checkpoint = None
        if ray.train.get_context().get_world_rank() == 0:
            Path(folder, ROWS).write_text(json.dumps(results))
            checkpoint = ray.train.Checkpoint.from_directory(folder)
        ray.train.report({}, checkpoint=checkpoint)


def run(model: str, strategy: str, args: argparse.Namespace, storage: str) -> list[dict[str, Any]]:
    """One Ray Train run of ``args.workers`` workers; its rows."""
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    config = {"model": model, "strategy": strategy, "packings": args.packing, "gpu": args.gpu, "workers": args.workers,
              "batch": args.batch, "steps": args.steps, "warmup": args.warmup,
              "max_length": args.max_length, "cache_dir": args.cache_dir}
    trainer = TorchTrainer(
        train_worker,
        train_loop_config=config,
        scaling_config=ScalingConfig(num_workers=args.workers, use_gpu=args.gpu,
                                     resources_per_worker={"CPU": 1, **({"GPU": 1} if args.gpu else {})}),
        run_config=RunConfig(name=f"{model}-{strategy}", storage_path=storage,
                             worker_runtime_env={"env_vars": {} if args.gpu else {"DS_ACCELERATOR": "cpu"}}),
    )
    with trainer.fit().checkpoint.as_directory() as folder:
        return json.loads(Path(folder, ROWS).read_text())


def peak_tflops(args: argparse.Namespace) -> float | None:
    if args.peak_tflops:
        return args.peak_tflops
    if args.gpu:
        import torch

        name = torch.cuda.get_device_name(0)
        return next((peak for key, peak in PEAK_BF16_TFLOPS.items() if key in name), None)
    return None


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", nargs="+", choices=MODELS, default=["smollm2"])
    parser.add_argument("--strategy", nargs="+", choices=STRATEGIES, default=list(STRATEGIES))
    parser.add_argument("--packing", nargs="+", choices=PACKINGS, default=list(PACKINGS))
    parser.add_argument("--gpu", action="store_true", help="one GPU per worker, bf16-mixed")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--batch", type=int, default=32, help="triplets per step and worker")
    parser.add_argument("--steps", type=int, default=30, help="timed steps")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--peak-tflops", type=float, help="per device (default: the GPU's dense bf16)")
    parser.add_argument("--cache-dir", default="outputs/cache/backbones", help="SmolLM2's converted weights")
    parser.add_argument("--out", help="also write the rows here as JSON")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.warmup < 0 or args.workers < 1 or args.batch < 1:
        parser.error("--steps, --workers and --batch must be at least 1, --warmup at least 0")
    if args.gpu:  # else Ray Train would wait for GPUs that never come
        import torch

        if torch.cuda.device_count() < args.workers:
            parser.error(f"--gpu --workers {args.workers}: {torch.cuda.device_count()} CUDA GPU(s) visible")
    args.cache_dir = str(Path(args.cache_dir).resolve())  # the workers' folder is not this one
    import ray

    peak = peak_tflops(args)
    ray.init(num_cpus=max(args.workers, os.cpu_count() or 1), include_dashboard=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="throughput-") as storage:
            for model in args.model:
                for strategy in args.strategy:
                    for row in run(model, strategy, args, storage):
                        mfu = row["flops_per_s"] / (peak * 1e12 * args.workers) if peak else None
                        rows.append({"model": model, "strategy": strategy, "workers": args.workers,
                                     "gpu": args.gpu, **row, "mfu": mfu})
                        print(f"{model:13s} {strategy:16s} {row['packing']:8s} "
                              f"{row['tokens_per_s']:12.0f} tokens/s  "
                              f"{row['flops_per_s'] / 1e12:8.2f} model TFLOP/s  "
                              f"MFU {'n/a' if mfu is None else f'{mfu:.1%}'}", flush=True)
    finally:
        ray.shutdown()
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1) + "\n")
    return rows


if __name__ == "__main__":
    main()
