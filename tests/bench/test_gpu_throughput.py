"""The GPU throughput benchmark: its FLOP count, and a CPU run of both strategies and packings
through Ray Train at a tiny size (the figures themselves need a GPU)."""

from __future__ import annotations

import os

import pytest

from bench.gpu_throughput import LLAMA_SIZES, build_backbone, linear_weights, main, model_flops

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.path.join(ROOT, "outputs", "cache", "backbones")


def test_linear_weights_split_the_frozen_base_from_the_lora_adapters():
    backbone = build_backbone("tiny", "none", 32, CACHE)
    d, ff, layers = (LLAMA_SIZES["tiny"][k] for k in ("hidden_size", "intermediate_size", "num_hidden_layers"))
    frozen, trainable = linear_weights(backbone)
    # q, k, v, o (4 heads of 16 = d) and gate, up, down per layer, no biases
    assert frozen == layers * (4 * d * d + 3 * d * ff)
    # r 16 on each: A is r x in, B is out x r
    r = 16
    per_layer = 4 * r * (d + d) + 2 * r * (d + ff) + r * (ff + d)
    assert trainable == layers * per_layer


def test_model_flops_follow_the_frozen_base_accounting():
    # 4 N_frozen + 6 N_trainable per token, plus 12 L d n^2 per text of n tokens
    assert model_flops(100, 10, 2, 8, [3]) == (400 + 60) * 3 + 12 * 2 * 8 * 9
    assert model_flops(100, 10, 2, 8, [3, 1]) == model_flops(100, 10, 2, 8, [3]) + model_flops(100, 10, 2, 8, [1])


@pytest.mark.slow
def test_both_strategies_and_packings_train_and_report_throughput_on_cpu(tmp_path):
    out = tmp_path / "rows.json"
    rows = main(["--model", "tiny", "--steps", "2", "--warmup", "1", "--batch", "4", "--max-length", "64",
                 "--peak-tflops", "1", "--cache-dir", CACHE, "--out", str(out)])
    assert {(r["strategy"], r["packing"]) for r in rows} == {
        (s, p) for s in ("ddp", "deepspeed_zero2") for p in ("none", "prepack")
    }
    for row in rows:
        assert row["tokens_per_s"] > 0 and row["flops_per_s"] > 0 and 0 < row["mfu"] < 1
    assert out.is_file()


def test_bad_sizes_are_refused_in_one_line(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--model", "tiny", "--steps", "0"])
    assert exit_.value.code == 2
    assert "--steps" in capsys.readouterr().err


def test_asking_for_more_gpus_than_are_visible_is_one_line(capsys):
    import torch

    with pytest.raises(SystemExit) as exit_:
        main(["--model", "tiny", "--gpu", "--workers", str(torch.cuda.device_count() + 1)])
    assert exit_.value.code == 2
    assert "CUDA GPU(s) visible" in capsys.readouterr().err
