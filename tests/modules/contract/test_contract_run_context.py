"""RunContext builds every Trainer with the sweep's callbacks and fits it from the resume path."""

from __future__ import annotations

import lightning as L
import torch
from omegaconf import OmegaConf
from torch.utils.data import DataLoader, TensorDataset

from modules.callbacks.fault_injection import FailAlways
from modules.contract.run import RunContext

TRAINER = {
    "_target_": "lightning.Trainer", "max_epochs": 3, "logger": False, "enable_checkpointing": False,
    "enable_progress_bar": False, "enable_model_summary": False, "accelerator": "cpu",
}


class Tiny(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return torch.nn.functional.mse_loss(self.layer(x), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


class Epochs(L.Callback):
    def __init__(self) -> None:
        self.started: list[int] = []

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self.started.append(trainer.current_epoch)


def loader() -> DataLoader:
    x = torch.arange(8, dtype=torch.float32).reshape(4, 2)
    return DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=2)


def test_trainer_attaches_task_sweep_and_config_callbacks_in_order():
    cfg = OmegaConf.create({"trainer": TRAINER, "callbacks": {"fail": {
        "_target_": "modules.callbacks.fault_injection.FailAlways", "epoch": 9}}})
    task_cb, sweep_cb = L.Callback(), L.Callback()
    trainer = RunContext(callbacks=[sweep_cb]).trainer(cfg, [task_cb], max_epochs=1)
    attached = [c for c in trainer.callbacks if c in (task_cb, sweep_cb) or isinstance(c, FailAlways)]
    assert attached[:2] == [task_cb, sweep_cb] and isinstance(attached[2], FailAlways)
    assert trainer.max_epochs == 1


def test_fit_continues_from_the_resume_path(tmp_path):
    cfg = OmegaConf.create({"trainer": TRAINER})
    first = RunContext()
    trainer = first.trainer(cfg, max_epochs=2)
    first.fit(trainer, Tiny(), train_dataloaders=loader())
    trainer.save_checkpoint(tmp_path / "last.ckpt")

    epochs = Epochs()
    resumed = RunContext(resume_from=str(tmp_path / "last.ckpt"))
    trainer = resumed.trainer(cfg, [epochs])
    resumed.fit(trainer, Tiny(), train_dataloaders=loader())
    assert epochs.started == [2]  # only the third epoch ran
    assert trainer.global_step == 3 * 2
