"""Fault injection for testing recovery: raise once at a chosen epoch."""

from __future__ import annotations

from pathlib import Path

import lightning as L


class FailOnce(L.Callback):
    """Raise ``RuntimeError`` at the end of training epoch ``epoch``, once per ``marker`` file.

    The marker survives the process, so a retried trial (a fresh worker restored from its last
    checkpoint) runs on. Used by the recovery tests and to rehearse a sweep's failure handling.
    """

    def __init__(self, epoch: int, marker: str) -> None:
        self.epoch = epoch
        self.marker = Path(marker)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch == self.epoch and not self.marker.exists():
            self.marker.parent.mkdir(parents=True, exist_ok=True)
            self.marker.write_text(f"failed once at epoch {self.epoch}\n")
            raise RuntimeError(f"injected failure at epoch {self.epoch}")


class FailAlways(L.Callback):
    """Raise ``RuntimeError`` at the end of every training epoch from ``epoch`` on (also after a
    restore from a later checkpoint), so the trial fails for good once its retries are spent."""

    def __init__(self, epoch: int = 0) -> None:
        self.epoch = epoch

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch >= self.epoch:
            raise RuntimeError(f"injected permanent failure at epoch {trainer.current_epoch}")
