"""Ray's saved experiment state: which file a restore reads, and its check before a resume starts Ray."""

from __future__ import annotations

import fnmatch
import json

from sweeps import storage
from sweeps.errors import SweepConfigError

# Ray's experiment state (TuneController.CKPT_FILE_TMPL), JSON: a whole copy is one that parses
EXPERIMENT_STATE_FILES = "experiment_state-*.json"


def is_experiment_state(name: str) -> bool:
    return fnmatch.fnmatch(name, EXPERIMENT_STATE_FILES)


def newest_experiment_state(names: list[str]) -> str | None:
    """The experiment state ``Tuner.restore`` reads among ``names``: the greatest name (Ray's
    ``_find_newest_experiment_checkpoint``); None when there is none."""
    return max(fnmatch.filter(names, EXPERIMENT_STATE_FILES), default=None)


def check_experiment_state(state_path: str) -> None:
    """Refuse a resume whose newest experiment state does not parse: when Ray cannot load it, it
    logs "Failed to restore the run state" and runs the sweep again without its trials
    (``TuneController.__init__``, Ray 2.60), and every later resume stops short."""
    name = newest_experiment_state(storage.names(state_path))
    if name is None:
        return  # Tuner.restore says itself that there is nothing to restore
    newest = f"{state_path}/{name}"
    try:
        json.loads(storage.read_text(newest))
    except ValueError as exc:
        raise SweepConfigError(
            f"the saved sweep state {newest} is damaged ({type(exc).__name__}): it cannot be resumed; "
            "start afresh without resume (the old state is moved aside, not deleted)") from None
