"""Checkpoint retention: a trial's old checkpoints go, never the one the saved sweep state names.

The saved state is written with Tune's own serialization (a real checkpoint manager registering real
checkpoints), as ``Tuner.restore`` reads it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyarrow import fs
from ray.train._internal.checkpoint_manager import _CheckpointManager
from ray.train._internal.session import _TrainingResult
from ray.tune import Checkpoint, CheckpointConfig
from ray.tune.trainable.metadata import _TrainingRunMetadata

from sweeps.checkpoint_retention import (
    CheckpointRetention,
    checkpoint_indices,
    prune,
    remove_stale_trial_dirs,
    saved_checkpoint_index,
)

TRIAL = "abc12_00000"


def _trial_dir(tmp_path: Path, count: int) -> Path:
    trial_dir = tmp_path / "sweep" / f"run_trial_{TRIAL}"
    for index in range(count):
        (trial_dir / f"checkpoint_{index:06d}").mkdir(parents=True)
        (trial_dir / f"checkpoint_{index:06d}" / "checkpoint").write_text("weights")
    return trial_dir


def _save_state(trial_dir: Path, names: int | None, stamp: str = "2026-12-01_00-00-00") -> None:
    """The experiment state file as Tune writes it, naming checkpoint ``names`` as the trial's latest."""
    metadata = _TrainingRunMetadata()
    metadata.checkpoint_manager = _CheckpointManager(CheckpointConfig(num_to_keep=None))
    if names is not None:
        checkpoint = Checkpoint.from_directory(str(trial_dir / f"checkpoint_{names:06d}"))
        metadata.checkpoint_manager.register_checkpoint(_TrainingResult(checkpoint=checkpoint, metrics={}))
    state = {"trial_data": [[json.dumps({"trial_id": TRIAL}), metadata.get_json_state()]]}
    (trial_dir.parent / f"experiment_state-{stamp}.json").write_text(json.dumps(state))


def _prune(trial_dir: Path, keep: int = 2) -> list[int]:
    return prune(fs.LocalFileSystem(), str(trial_dir), TRIAL, keep)


def test_keeps_the_newest_and_the_one_the_saved_state_names(tmp_path):
    trial_dir = _trial_dir(tmp_path, 6)
    _save_state(trial_dir, names=3)
    assert saved_checkpoint_index(fs.LocalFileSystem(), str(trial_dir.parent), TRIAL) == 3
    assert _prune(trial_dir) == [0, 1, 2]
    assert sorted(checkpoint_indices(fs.LocalFileSystem(), str(trial_dir))) == [3, 4, 5]


def test_a_stale_saved_state_keeps_its_old_checkpoint(tmp_path):
    """The race Tune's num_to_keep loses: two newer checkpoints saved, the state not yet refreshed."""
    trial_dir = _trial_dir(tmp_path, 5)
    _save_state(trial_dir, names=0)
    assert _prune(trial_dir) == []
    assert len(checkpoint_indices(fs.LocalFileSystem(), str(trial_dir))) == 5


def test_the_newest_state_file_is_the_one_read(tmp_path):
    trial_dir = _trial_dir(tmp_path, 5)
    _save_state(trial_dir, names=0, stamp="2026-12-01_00-00-00")
    _save_state(trial_dir, names=4, stamp="2026-12-01_00-05-00")  # the resumed session's
    assert _prune(trial_dir, keep=1) == [0, 1, 2, 3]


@pytest.mark.parametrize("state", ["absent", "half-written", "names none"])
def test_without_a_readable_state_naming_a_checkpoint_nothing_is_deleted(tmp_path, state):
    trial_dir = _trial_dir(tmp_path, 4)
    if state == "names none":
        _save_state(trial_dir, names=None)
    elif state == "half-written":
        _save_state(trial_dir, names=3)
        saved = next(trial_dir.parent.glob("experiment_state-*.json"))
        saved.write_text(saved.read_text()[:40])
    assert _prune(trial_dir) == []
    assert len(checkpoint_indices(fs.LocalFileSystem(), str(trial_dir))) == 4


def _folders(tmp_path: Path, *names: str) -> Path:
    experiment = tmp_path / "sweep"
    for name in names:
        (experiment / name / "checkpoint_000000").mkdir(parents=True)
    return experiment


def test_a_trial_folder_a_killed_driver_left_is_deleted_once_the_sweep_ends(tmp_path):
    """A driver killed before its state reached storage left trial 3 a folder that the resumed
    sweep did not reuse; another trial's folder and the folder the final state names stay."""
    left = "run_trial_abc12_00003_3_seed=1_2026-12-02_03-47-29"
    kept = "run_trial_abc12_00003_3_seed=1_2026-12-02_03-48-54"
    other = "run_trial_abc12_00002_2_seed=1_2026-12-02_03-47-29"
    thirtieth = "run_trial_abc12_000030_30_seed=1_2026-12-02_03-47-29"  # another trial whose id starts alike
    experiment = _folders(tmp_path, left, kept, other, thirtieth)
    (experiment / "experiment_state-2026-12-02_03-48-54.json").write_text("{}")
    removed = remove_stale_trial_dirs(fs.LocalFileSystem(), str(experiment), "abc12_00003", kept)
    assert removed == [left]
    assert sorted(p.name for p in experiment.iterdir()) == sorted(
        [kept, other, thirtieth, "experiment_state-2026-12-02_03-48-54.json"])


def test_the_callback_removes_stale_folders_of_every_finished_trial(tmp_path):
    """Through CheckpointRetention.on_experiment_end with Tune's own Trial and StorageContext."""
    from ray.train._internal.storage import StorageContext
    from ray.tune.experiment import Trial

    experiment = _folders(tmp_path, "run_trial_abc12_00000_0_a", "run_trial_abc12_00000_0_b",
                          "run_trial_abc12_00001_1_a")
    trials = []
    for trial_id, folder in [("abc12_00000", "run_trial_abc12_00000_0_b"), ("abc12_00001", None)]:
        storage = StorageContext(storage_path=str(tmp_path), experiment_dir_name="sweep",
                                 trial_dir_name=folder)
        trials.append(Trial("run_trial", config={}, trial_id=trial_id, storage=storage, stub=True))
    CheckpointRetention(keep=2).on_experiment_end(trials)
    # trial 1 never started: it names no folder, so none of its is judged stale
    left = sorted(p.name for p in experiment.glob("run_trial_*"))
    assert left == ["run_trial_abc12_00000_0_b", "run_trial_abc12_00001_1_a"]
