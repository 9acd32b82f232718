"""Each trial keeps its last few checkpoints, and never loses the one the saved sweep state names.

Tune's ``CheckpointConfig(num_to_keep=K)`` deletes a trial's oldest checkpoint the moment it
registers a new one, but saves the experiment state that ``Tuner.restore`` resumes from only
afterwards, and uploads it in the background. A driver killed in between leaves a state that names a
deleted checkpoint, and the resumed trial fails for good: "Could not recover from checkpoint as it
does not exist on storage anymore". So Tune keeps every checkpoint, and this callback deletes one only
once the experiment state on storage names a newer checkpoint of that trial.

A killed driver can also leave a whole trial folder that no saved state names: Tune names a trial's
folder when it starts the trial (or restores it), and a driver killed before its state reaches
storage leaves that folder behind; the resumed sweep names the trial's folder afresh. Once the sweep
has finished, such a folder (the trial's id, not the folder its final state names) is deleted too.

Written here because Tune has no such option; it reads the saved state with Tune's own helpers.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pyarrow import fs
from ray.tune import Callback
from ray.tune.execution.experiment_state import _find_newest_experiment_checkpoint
from ray.tune.trainable.metadata import _TrainingRunMetadata

CHECKPOINT_DIR = re.compile(r"checkpoint_(\d+)$")


class CheckpointRetention(Callback):
    """Deletes a trial's checkpoints that are older than both its last ``keep`` and the one the
    experiment state on storage would resume it from."""

    def __init__(self, keep: int) -> None:
        if keep < 1:
            raise ValueError(f"keep must be at least 1, got {keep}")
        self.keep = keep

    def on_checkpoint(self, iteration: int, trials: list, trial: Any, checkpoint: Any, **info) -> None:
        self._prune_beside(checkpoint, trial.trial_id)

    def on_experiment_end(self, trials: list, **info) -> None:
        # Tune has saved its final state, with every trial's latest checkpoint, by now
        for trial in trials:
            if trial.checkpoint is not None:
                self._prune_beside(trial.checkpoint, trial.trial_id)
            storage = trial.storage
            if storage.trial_dir_name:  # a trial never started names no folder to keep
                remove_stale_trial_dirs(storage.storage_filesystem, storage.experiment_fs_path,
                                        trial.trial_id, storage.trial_dir_name)

    def _prune_beside(self, checkpoint: Any, trial_id: str) -> None:
        prune(checkpoint.filesystem, checkpoint.path.rsplit("/", 1)[0], trial_id, self.keep)


def prune(filesystem: fs.FileSystem, trial_dir: str, trial_id: str, keep: int) -> list[int]:
    """Delete the trial's checkpoints below both its ``keep`` newest and the saved state's; return
    the deleted indices."""
    indices = sorted(checkpoint_indices(filesystem, trial_dir))
    saved = saved_checkpoint_index(filesystem, trial_dir.rsplit("/", 1)[0], trial_id)
    if saved is None or len(indices) <= keep:
        return []
    below = min(saved, indices[-keep])
    doomed = [index for index in indices if index < below]
    for index in doomed:
        filesystem.delete_dir(f"{trial_dir}/checkpoint_{index:06d}")
    return doomed


def remove_stale_trial_dirs(filesystem: fs.FileSystem, experiment_dir: str, trial_id: str,
                            current: str) -> list[str]:
    """Delete the folders of ``trial_id`` other than ``current`` (the one its final state names);
    return their names. Tune names a trial's folder ``<trainable>_<trial id>_<index>_<params>_<date>``."""
    marker = f"_{trial_id}_"
    entries = filesystem.get_file_info(fs.FileSelector(experiment_dir, allow_not_found=True))
    stale = [entry.base_name for entry in entries if entry.type == fs.FileType.Directory
             and marker in entry.base_name and entry.base_name != current]
    for name in stale:
        filesystem.delete_dir(f"{experiment_dir}/{name}")
    return stale


def checkpoint_indices(filesystem: fs.FileSystem, trial_dir: str) -> list[int]:
    entries = filesystem.get_file_info(fs.FileSelector(trial_dir, allow_not_found=True))
    matches = (CHECKPOINT_DIR.search(entry.base_name) for entry in entries
               if entry.type == fs.FileType.Directory)
    return [int(match.group(1)) for match in matches if match]


def saved_checkpoint_index(filesystem: fs.FileSystem, experiment_dir: str, trial_id: str) -> int | None:
    """The checkpoint index the newest experiment state on storage resumes ``trial_id`` from; None
    when that state is absent, unreadable (being written) or names no checkpoint for it."""
    path = _find_newest_experiment_checkpoint(experiment_dir, fs=filesystem)
    if path is None:
        return None
    try:
        with filesystem.open_input_stream(path) as stream:
            state = json.loads(stream.read())
    except (OSError, ValueError):
        return None
    for trial_json, metadata_json in state.get("trial_data", []):
        if json.loads(trial_json).get("trial_id") != trial_id:
            continue
        latest = _TrainingRunMetadata.from_json_state(metadata_json).checkpoint_manager.latest_checkpoint_result
        match = CHECKPOINT_DIR.search(latest.checkpoint.path) if latest is not None else None
        return int(match.group(1)) if match else None
    return None
