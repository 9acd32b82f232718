"""One trial's config and task, run in-process (no Ray): what a Ray worker does after composing."""

from __future__ import annotations

from hydra.utils import instantiate

from modules.task import RunContext
from sweeps.trial import trial_config


def test_trial_config_means_what_the_overrides_mean(tmp_path):
    cfg = trial_config(["+experiment=smoke", f"paths.output_dir={tmp_path}"], {"optim.lr": "0.05", "seed": 3})
    assert cfg.optim.lr == 0.05
    assert cfg.seed == 3
    assert cfg.tracking.uri == f"sqlite:///{tmp_path}/mlflow.db"


def test_one_trial_runs_in_process(tmp_path):
    cfg = trial_config(
        ["+experiment=smoke", f"paths.output_dir={tmp_path}", "trainer.max_epochs=2"],
        {"optim.lr": "0.01", "model.hidden": "32", "seed": 0},
    )
    metrics = instantiate(cfg.task).run(cfg, RunContext(artifact_dir=tmp_path))
    assert set(metrics) >= {"val_acc", "val_loss"}
    assert metrics["val_acc"] > 0.5  # 10 classes: chance is 0.1


def test_quiet_worker_logs_turns_off_weight_loading_bars():
    """Ray forwards every redraw of a progress bar as a line of the sweep's output."""
    from transformers.utils import logging as transformers_logging

    from sweeps.trial import quiet_worker_logs

    transformers_logging.enable_progress_bar()
    quiet_worker_logs()
    assert not transformers_logging.is_progress_bar_enabled()
