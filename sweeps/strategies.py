"""Lightning strategies for multi-worker trials under Ray Train, and DeepSpeed on CPU.

Lightning's ``DeepSpeedStrategy`` (and Ray's ``RayDeepSpeedStrategy``) refuse a CPU accelerator,
although DeepSpeed itself trains ZeRO-2 and ZeRO-3 on CPU (``DS_ACCELERATOR=cpu``, gloo). The
subclass here skips only the CUDA-only steps when the accelerator is the CPU, so DeepSpeed is
exercised on CPU machines and in CI; on GPUs it is Ray's strategy unchanged.
"""

from __future__ import annotations

import torch
from lightning.fabric.utilities.seed import reset_seed
from lightning.pytorch.accelerators import CPUAccelerator
from lightning.pytorch.strategies import DDPStrategy
from ray.train.lightning import RayDeepSpeedStrategy


class RayDeepSpeedAnyDeviceStrategy(RayDeepSpeedStrategy):
    """Ray's DeepSpeed strategy that also runs on CPU workers (gloo, ``DS_ACCELERATOR=cpu``)."""

    def _on_cpu(self) -> bool:
        return isinstance(self.accelerator, CPUAccelerator)

    def setup_environment(self) -> None:
        if not self._on_cpu():
            return super().setup_environment()
        # DeepSpeedStrategy.setup_environment raises for non-CUDA accelerators; skip to DDP's.
        return DDPStrategy.setup_environment(self)

    def setup_distributed(self) -> None:
        if not self._on_cpu():
            return super().setup_distributed()
        # DeepSpeedStrategy validates CUDA device indices here; CPU workers have none.
        reset_seed()
        self.set_world_ranks()
        self._init_deepspeed_distributed()
        return None

    @property
    def root_device(self) -> torch.device:
        if self.accelerator is not None and self._on_cpu():
            # An index, because Lightning hands root_device.index to DeepSpeed as its device rank.
            return torch.device("cpu", 0)
        return super().root_device
