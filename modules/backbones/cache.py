"""The one cached-features helper: a content-addressed key, a file lock, an atomic write, progress.

Every study that caches what a frozen backbone computes (the embedding study's token features,
the continual methods' frozen features, the selection pool, the dequantized SmolLM2 folder) builds
its file once through :func:`build_once`: trials that start together wait on the file lock while
the first builds; the file appears under its final name only when complete (written under a
``.partial`` name, then renamed), so a killed build never leaves a file that a later trial would
read. :func:`progress` is the tqdm bar with an ETA that long builds draw on stderr.

A build draws nothing from the caller's random streams (:func:`preserved_random_state`): building
a backbone initializes weights from torch's generator before loading them, and a seeded trial must
train the same model whether it found the cache or built it.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tqdm import tqdm

PROGRESS_SECONDS = 10.0  # one redraw per 10 s at most: Ray forwards every redraw of a worker as a line


def content_key(payload: Any, length: int = 12) -> str:
    """A short stable digest of a JSON-serializable ``payload`` (keys sorted)."""
    text = json.dumps(payload, sort_keys=True)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:length]


def safe_name(name: str, length: int | None = None) -> str:
    """``name`` with every character but letters, digits, ``-`` and ``_`` replaced by ``_``
    (its last ``length`` characters when given)."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
    return safe[-length:] if length else safe


def partial_path(path: Path) -> Path:
    """Where :func:`atomic_write` writes ``path`` before the rename."""
    return path.with_name(path.name + ".partial")


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """``write(partial)`` (a file or a folder), then rename it to ``path``."""
    partial = partial_path(path)
    write(partial)
    partial.rename(path)


@contextmanager
def preserved_random_state() -> Iterator[None]:
    """Run the block, then restore Python's, NumPy's and torch's (CPU and CUDA) random states."""
    import numpy as np
    import torch

    python_state, numpy_state = random.getstate(), np.random.get_state()
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    with torch.random.fork_rng(devices=devices):
        try:
            yield
        finally:
            random.setstate(python_state)
            np.random.set_state(numpy_state)


def file_lock(path: Path, timeout: float = -1):
    """The file lock guarding ``path`` (``<path>.lock``); ``timeout=0`` fails at once when held."""
    from filelock import FileLock

    return FileLock(str(path) + ".lock", timeout=timeout)


def build_once(path: Path, write: Callable[[Path], None]) -> Path:
    """``path``, built by ``write`` (see :func:`atomic_write`) unless it exists; concurrent callers
    wait on its file lock while one builds."""
    path = Path(path).expanduser()
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(path), preserved_random_state():
        if not path.exists():
            atomic_write(path, write)
    return path


def progress(total: int, label: str, unit: str = "it") -> tqdm:
    """A tqdm bar on stderr with rate and ETA, redrawn at most every ``PROGRESS_SECONDS``."""
    return tqdm(
        total=total, desc=label, unit=unit, unit_scale=True, file=sys.stderr,
        mininterval=PROGRESS_SECONDS, maxinterval=PROGRESS_SECONDS * 6, dynamic_ncols=False,
    )
