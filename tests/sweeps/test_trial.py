"""One trial's config and task, run in-process (no Ray): what a Ray worker does after composing."""

from __future__ import annotations

from pathlib import Path

import pytest

from modules.contract.keys import FINAL_KEY
from modules.contract.per_example import read_per_example
from sweeps.execute import execute, restored_checkpoint
from sweeps.trial import trial_config


def test_trial_config_means_what_the_overrides_mean(tmp_path):
    cfg = trial_config(["+experiment=smoke", f"paths.output_dir={tmp_path}"], {"optim.lr": "0.05", "seed": 3})
    assert cfg.optim.lr == 0.05
    assert cfg.seed == 3
    assert cfg.tracking.uri == f"sqlite:///{tmp_path}/mlflow.db"


def test_one_trial_executes_in_process(tmp_path):
    sampled = {"optim.lr": "0.01", "model.hidden": "32", "seed": 0}
    cfg = trial_config(["+experiment=smoke", f"paths.output_dir={tmp_path}", "trainer.max_epochs=2"], sampled)
    metrics = execute(cfg, sampled, [], tmp_path / "art", None, "checkpoint")
    assert set(metrics) >= {"val_acc", "val_loss", FINAL_KEY}
    assert metrics["val_acc"] > 0.5  # 10 classes: chance is 0.1
    scores = read_per_example(tmp_path / "art")["val_acc"]
    assert scores.frame["score"].mean() == pytest.approx(metrics["val_acc"])


class SavedCheckpoint:
    """What Ray hands a restored trial: a checkpoint that copies its folder somewhere."""

    def __init__(self, files: list[str]) -> None:
        self.files = files

    def to_directory(self, path: str) -> str:
        for name in self.files:
            (Path(path) / name).write_text("state")
        return path


def test_restored_checkpoint_is_the_named_file_or_none(tmp_path):
    assert restored_checkpoint(None, tmp_path, "checkpoint") is None
    assert restored_checkpoint(SavedCheckpoint(["other"]), tmp_path, "checkpoint") is None
    found = restored_checkpoint(SavedCheckpoint(["checkpoint"]), tmp_path, "checkpoint")
    assert found == str(tmp_path / "checkpoint")


def test_quiet_worker_logs_turns_off_weight_loading_bars():
    """Ray forwards every redraw of a progress bar as a line of the sweep's output."""
    from transformers.utils import logging as transformers_logging

    from sweeps.worker_logs import quiet_worker_logs

    transformers_logging.enable_progress_bar()
    quiet_worker_logs()
    assert not transformers_logging.is_progress_bar_enabled()
