"""Multi-worker trials: the Tune trial builds and fits a Ray Train ``TorchTrainer`` itself.

In Ray 2.60 (Train V2) the Tune function trainable launches the TorchTrainer; passing a trainer to
``Tuner`` is deprecated. Each worker composes the same config as a single-process trial, swaps in
the Ray strategy (``conf/strategy``) and ``RayLightningEnvironment``, and runs the same task. The
workers report through Ray's ``RayTrainReportCallback``, and ``TuneReportCallback`` in the Train run
config forwards them to Tune, so schedulers, retries and MLflow logging behave as for
single-process trials. A retried trial resumes: Train V2 restores a run of the same name and storage
path from its latest checkpoint.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import ray.train
from lightning import Callback, Trainer
from omegaconf import DictConfig, OmegaConf, open_dict
from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
from ray.train.lightning import RayTrainReportCallback, prepare_trainer
from ray.train.torch import TorchTrainer
from ray.tune.integration.ray_train import TuneReportCallback

from sweeps.config import trial_config
from sweeps.execute import execute, quiet_worker_logs


def run_distributed(
    cfg: DictConfig, sampled: dict[str, Any], base_overrides: list[str], artifact_dir: Path
) -> None:
    """Fit the trial's task on ``resources.workers`` Ray Train workers; the final metrics reach Tune.
    The Train run keeps its checkpoints next to the trial's artifacts, so a retry resumes."""
    gpu = float(cfg.resources.gpu)
    trainer = TorchTrainer(
        _worker_loop,
        train_loop_config={
            "base_overrides": base_overrides, "sampled": sampled, "artifact_dir": str(artifact_dir)
        },
        scaling_config=ScalingConfig(
            num_workers=int(cfg.resources.workers),
            use_gpu=gpu > 0,
            resources_per_worker={"CPU": float(cfg.resources.cpu), **({"GPU": gpu} if gpu else {})},
        ),
        run_config=RunConfig(
            name="train",
            storage_path=str(artifact_dir.parent / f"{artifact_dir.name}-train"),
            failure_config=FailureConfig(max_failures=0),  # Tune's FailureConfig retries the trial
            checkpoint_config=CheckpointConfig(num_to_keep=1),
            callbacks=[TuneReportCallback()],
            worker_runtime_env={"env_vars": worker_env(cfg)},
        ),
    )
    trainer.fit()


def worker_env(cfg: DictConfig) -> dict[str, str]:
    """Environment of the Train workers: DeepSpeed's accelerator. DeepSpeed's JIT-built ops go to
    torch's build folder (``TORCH_EXTENSIONS_DIR``, else ``~/.cache/torch_extensions``), shared by
    every sweep of the machine: built once, not once per output folder."""
    env: dict[str, str] = {}
    if float(cfg.resources.gpu) == 0:
        env["DS_ACCELERATOR"] = "cpu"
    return env


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


def _worker_loop(config: dict[str, Any]) -> None:
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
