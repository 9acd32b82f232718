"""The GPU check script exists, is valid bash, and its sweeps compose (they run only on a GPU)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from sweeps.cli import plan_sweep

SCRIPT = Path(__file__).parents[2] / "infra" / "gpu_check.sh"


def test_gpu_check_is_valid_bash():
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)


def test_gpu_check_sweeps_compose(tmp_path, monkeypatch):
    # as on the GPU machine the script is written for: 16 cores and one visible GPU
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    text = SCRIPT.read_text()
    common = re.search(r"COMMON=\((.*?)\)\n", text, re.S).group(1).split()
    common = [a.replace('"paths.output_dir=$OUT"', f"paths.output_dir={tmp_path}") for a in common]
    lora = ["sweep.name=gpu_lora_zero2", "finetune=lora", "strategy=deepspeed_zero2",
            "resources.workers=1", "resources.gpu=1", "resources.cpu=4", "trainer.precision=bf16-mixed"]
    plan = plan_sweep([*common, *lora, "cluster.num_cpus=16"])
    assert plan.cfg.strategy.stage == 2 and plan.cfg.finetune.regime == "lora"
    fractional = plan_sweep([*common, "sweep.name=gpu_fractional", "resources.gpu=0.5", "cluster.num_cpus=16"])
    assert fractional.cfg.resources.gpu == 0.5
