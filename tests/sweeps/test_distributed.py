"""Every ``conf/strategy`` option becomes the Ray strategy object a Train worker's Trainer gets
(the e2e test trains DDP and ZeRO-3 for real; the rest are checked here, cheaply)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra.utils import instantiate

from sweeps.config import compose_config, resolve
from sweeps.distributed import worker_env
from sweeps.settings import is_distributed
from sweeps.train_worker import with_ray_strategy

STRATEGIES = sorted(p.stem for p in (Path(__file__).parents[2] / "conf" / "strategy").glob("*.yaml"))
EXPECTED = {
    "auto": "RayDDPStrategy", "ddp": "RayDDPStrategy", "fsdp": "RayFSDPStrategy",
    "deepspeed_zero2": "RayDeepSpeedAnyDeviceStrategy", "deepspeed_zero3": "RayDeepSpeedAnyDeviceStrategy",
    "deepspeed_zero3_offload": "RayDeepSpeedAnyDeviceStrategy",
}


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_option_builds_its_ray_strategy(strategy, tmp_path):
    cfg = resolve(compose_config(
        ["+experiment=smoke", f"strategy={strategy}", "resources.workers=2", f"paths.output_dir={tmp_path}"]
    ))
    assert is_distributed(cfg)
    built = instantiate(with_ray_strategy(cfg).trainer.strategy)
    assert type(built).__name__ == EXPECTED[strategy]
    if strategy.startswith("deepspeed"):
        assert built.config["zero_optimization"]["stage"] == int(cfg.strategy.stage)


def test_one_worker_with_the_default_strategy_is_not_distributed(tmp_path):
    cfg = resolve(compose_config(["+experiment=smoke", f"paths.output_dir={tmp_path}"]))
    assert not is_distributed(cfg)


def test_deepspeeds_jit_builds_are_shared_across_output_folders(tmp_path):
    """Train workers get no per-sweep ``TORCH_EXTENSIONS_DIR``: a build folder inside the output
    folder made every new sweep rebuild DeepSpeed's CPU collective op; the CPU accelerator is set."""
    cfg = resolve(compose_config(["+experiment=smoke", "strategy=deepspeed_zero2", "resources.workers=2",
                                  f"paths.output_dir={tmp_path}"]))
    assert worker_env(cfg) == {"DS_ACCELERATOR": "cpu"}
