"""After a PBT clone the trial trains with its own (mutated) optimizer values, not the donor's:
Lightning restores the optimizer state from the checkpoint, hyper-parameters included."""

from __future__ import annotations

import torch
from hydra.utils import instantiate
from lightning import Callback, Trainer

from sweeps.config import compose_config
from sweeps.optimizer_values import ApplyOptimizerValues


class SeenLr(Callback):
    def __init__(self) -> None:
        self.lrs: list[float] = []

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self.lrs.append(trainer.optimizers[0].param_groups[0]["lr"])


def _fit(cfg, epochs: int, callbacks: list, ckpt: str | None = None) -> Trainer:
    model = instantiate(cfg.model, optimizer=instantiate(cfg.optim))
    trainer = instantiate(cfg.trainer, max_epochs=epochs, callbacks=callbacks)
    trainer.fit(model, datamodule=instantiate(cfg.data), ckpt_path=ckpt)
    return trainer


def test_a_cloned_checkpoint_trains_on_with_the_trials_own_learning_rate(tmp_path):
    torch.manual_seed(0)
    donor = compose_config(["+experiment=smoke", "optim.lr=0.001", "optim.weight_decay=0.0"])
    ckpt = str(tmp_path / "donor.ckpt")
    _fit(donor, 1, []).save_checkpoint(ckpt)

    mutated = compose_config(["+experiment=smoke", "optim.lr=0.0123", "optim.weight_decay=0.01"])
    plain, applied = SeenLr(), SeenLr()
    _fit(mutated, 2, [plain], ckpt)
    assert plain.lrs == [0.001], "without the callback Lightning restores the donor's rate"
    values = ApplyOptimizerValues.from_config(mutated.optim)
    assert values.values == {"lr": 0.0123, "weight_decay": 0.01}
    trainer = _fit(mutated, 2, [values, applied], ckpt)
    assert applied.lrs == [0.0123]
    assert trainer.optimizers[0].param_groups[0]["weight_decay"] == 0.01


def test_a_learning_rate_schedule_keeps_its_phase():
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    optimizer.step()
    scheduler.step()  # lr 0.05: half the base rate
    ApplyOptimizerValues({"lr": 0.02})._apply(optimizer.param_groups[0], scheduler.base_lrs, 0)
    assert optimizer.param_groups[0]["lr"] == 0.01 and scheduler.base_lrs == [0.02]
