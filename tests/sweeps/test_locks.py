from __future__ import annotations

import json
import threading

import pytest
from filelock import FileLock

from sweeps.errors import SweepConfigError
from sweeps.locks import LOCK_DIR, sweep_lock


def _held_without_owner(tmp_path):
    folder = tmp_path / LOCK_DIR
    folder.mkdir()
    lock = FileLock(str(folder / "s.lock"))
    lock.acquire()
    return lock, folder / "s.owner.json"


def test_a_refusal_waits_for_the_owner_that_has_just_taken_the_lock(tmp_path):
    lock, owner = _held_without_owner(tmp_path)  # taken, its owner file not yet written
    later = threading.Timer(0.3, lambda: owner.write_text(json.dumps(
        {"pid": 4242, "host": "there", "since": "2026-12-02 10:00:00"})))
    later.start()
    try:
        with pytest.raises(SweepConfigError, match="pid 4242 on host there"), sweep_lock(tmp_path, "s"):
            pass
    finally:
        later.join()
        lock.release()


def test_an_owner_that_never_says_who_it_is_is_unknown_after_a_short_wait(tmp_path):
    lock, _ = _held_without_owner(tmp_path)
    try:
        with pytest.raises(SweepConfigError, match="its owner is unknown"), sweep_lock(tmp_path, "s"):
            pass
    finally:
        lock.release()


def test_the_holder_leaves_no_owner_file_and_no_partial_file(tmp_path):
    with sweep_lock(tmp_path, "s"):
        owner = json.loads((tmp_path / LOCK_DIR / "s.owner.json").read_text())
        assert set(owner) == {"pid", "host", "since"}
    assert sorted(p.name for p in (tmp_path / LOCK_DIR).iterdir()) == ["s.lock"]
