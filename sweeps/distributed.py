"""Multi-worker trials: the Tune trial builds and fits a Ray Train ``TorchTrainer`` itself.

In Ray 2.60 (Train V2) the Tune function trainable launches the TorchTrainer; passing a trainer to
``Tuner`` is deprecated. Each worker (:mod:`sweeps.train_worker`) composes the same config as a
single-process trial, swaps in the Ray strategy (``conf/strategy``) and ``RayLightningEnvironment``,
and runs the same task. The workers report through Ray's ``RayTrainReportCallback``, and
``TuneReportCallback`` in the Train run config forwards them to Tune, so schedulers, retries and
MLflow logging behave as for single-process trials. A retried trial resumes: Train V2 restores a
run of the same name and storage path from its latest checkpoint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig
from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
from ray.train.torch import TorchTrainer
from ray.tune.integration.ray_train import TuneReportCallback


def run_distributed(
    cfg: DictConfig, sampled: dict[str, Any], base_overrides: list[str], artifact_dir: Path
) -> None:
    """Fit the trial's task on ``resources.workers`` Ray Train workers; the final metrics reach Tune.
    The Train run keeps its checkpoints next to the trial's artifacts, so a retry resumes."""
    gpu = float(cfg.resources.gpu)
    trainer = TorchTrainer(
        _train_worker,
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


def _train_worker(config: dict[str, Any]) -> None:
    # the training stack (Lightning, the task) is imported on the Train workers only: the Tune
    # trial that launches them needs none of it
    from sweeps.train_worker import train_worker

    train_worker(config)
