"""What each Ray Train worker of a multi-worker trial runs (:mod:`sweeps.distributed` launches them):
the trial's config with the Ray strategy and ``RayLightningEnvironment`` swapped in, then the same
:func:`~sweeps.execute.execute` as a single-process trial, reporting through Ray Train."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import ray.train
from lightning import Callback, Trainer
from omegaconf import DictConfig, OmegaConf, open_dict
from ray.train.lightning import RayTrainReportCallback, prepare_trainer

from sweeps.config import trial_config
from sweeps.execute import execute
from sweeps.worker_logs import quiet_worker_logs


class PrepareRayTrainer(Callback):
    """Runs Ray's ``prepare_trainer`` checks on whatever Trainer the task builds."""

    def setup(self, trainer: Trainer, pl_module: Any, stage: str) -> None:
        prepare_trainer(trainer)


def with_ray_strategy(cfg: DictConfig) -> DictConfig:
    """The trial config with the Ray strategy and cluster environment set on its trainer."""
    strategy = OmegaConf.to_container(cfg.strategy, resolve=True)
    strategy.pop("name", None)
    if "_target_" not in strategy:  # "auto" with several workers means DDP
        strategy = {"_target_": "ray.train.lightning.RayDDPStrategy"}
    with open_dict(cfg):
        cfg.trainer.strategy = strategy
        cfg.trainer.devices = "auto"
        cfg.trainer.plugins = [{"_target_": "ray.train.lightning.RayLightningEnvironment"}]
    return cfg


def train_worker(config: dict[str, Any]) -> None:
    """One worker's share of the trial; rank 0 writes the trial's artifacts."""
    quiet_worker_logs()
    cfg = with_ray_strategy(trial_config(config["base_overrides"], config["sampled"]))
    rank = ray.train.get_context().get_world_rank()
    with tempfile.TemporaryDirectory(prefix="worker-") as scratch:
        artifact_dir = Path(config["artifact_dir"]) if rank == 0 else Path(scratch) / "artifacts"
        metrics = execute(
            cfg,
            config["sampled"],
            [RayTrainReportCallback(), PrepareRayTrainer()],
            artifact_dir,
            ray.train.get_checkpoint(),
            RayTrainReportCallback.CHECKPOINT_NAME,
        )
    ray.train.report(metrics)
