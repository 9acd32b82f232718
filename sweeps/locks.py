"""One sweep per name at a time, and one creator of the local MLflow store.

Both are ``filelock`` locks on the machine that runs the driver: a second sweep with the same
``sweep.name`` and output folder would otherwise move the first one's live Ray state aside, and two
first clients of a fresh SQLite store race on creating its schema (and leave it broken).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from sweeps.errors import SweepConfigError

LOCK_DIR = "locks"


@contextlib.contextmanager
def sweep_lock(output_dir: str | Path, name: str) -> Iterator[None]:
    """Hold ``<output_dir>/locks/<name>.lock`` for the sweep's life; refuse a second holder."""
    folder = Path(output_dir) / LOCK_DIR
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(folder / f"{name}.lock"))
    owner = folder / f"{name}.owner.json"
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise SweepConfigError(f"sweep '{name}' is already running ({_describe(owner)}); "
                               "wait for it to end, or give this one another sweep.name") from None
    try:
        _write_owner(owner)
        yield
    finally:
        owner.unlink(missing_ok=True)
        lock.release()


def _write_owner(owner: Path) -> None:
    # Written whole, then renamed: a refused driver never reads half a file
    partial = owner.with_name(f"{owner.name}.{os.getpid()}.partial")
    try:
        partial.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                       "since": time.strftime("%Y-%m-%d %H:%M:%S")}))
        os.replace(partial, owner)
    finally:
        partial.unlink(missing_ok=True)  # left only when a write failed (a full disk)


def _describe(owner: Path, wait_s: float = 2.0) -> str:
    # Two drivers started together: the holder may not have written its owner file yet
    deadline = time.monotonic() + wait_s
    while True:
        try:
            info = json.loads(owner.read_text())
            return f"pid {info['pid']} on host {info['host']}, since {info['since']}"
        except (OSError, ValueError, KeyError):
            if time.monotonic() >= deadline:
                return "its owner is unknown"
            time.sleep(0.05)


@contextlib.contextmanager
def store_lock(tracking_uri: str) -> Iterator[None]:
    """Serialise the first use of a local SQLite store (schema creation and migrations)."""
    prefix = "sqlite:///"
    if not tracking_uri.startswith(prefix):
        yield
        return
    with FileLock(tracking_uri[len(prefix):] + ".lock"):
        yield
