"""Ray's saved experiment state, checked before a resume starts Ray."""

from __future__ import annotations

import fnmatch
import json

from sweeps import storage
from sweeps.atomic_fs import EXPERIMENT_STATE_FILES
from sweeps.errors import SweepConfigError


def check_experiment_state(state_path: str) -> None:
    """Refuse a resume whose newest experiment state does not parse. ``Tuner.restore`` reads the
    greatest name (Ray's ``_find_newest_experiment_checkpoint``); when it cannot load it, Ray logs
    "Failed to restore the run state" and runs the sweep again without its trials
    (``TuneController.__init__``, Ray 2.60), and every later resume stops short."""
    found = fnmatch.filter(storage.names(state_path), EXPERIMENT_STATE_FILES)
    if not found:
        return  # Tuner.restore says itself that there is nothing to restore
    newest = f"{state_path}/{max(found)}"
    try:
        json.loads(storage.read_text(newest))
    except ValueError as exc:
        raise SweepConfigError(
            f"the saved sweep state {newest} is damaged ({type(exc).__name__}): it cannot be resumed; "
            "start afresh without resume (the old state is moved aside, not deleted)") from None
