"""Shared fixtures: short temp output folders (Ray's socket paths must stay short), sweep runner."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A temp folder with a short path (Ray puts unix sockets under its temp dir)."""
    path = Path(tempfile.mkdtemp(prefix="rs-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def run_sweep_cli(*args: str, timeout: int = 600, **kwargs) -> subprocess.CompletedProcess:
    """Run ``python sweep.py ARGS`` from the project root; returns the completed process."""
    return subprocess.run(
        [sys.executable, str(ROOT / "sweep.py"), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout, **kwargs,
    )


@pytest.fixture(scope="session")
def smoke_sweep() -> Iterator[tuple[Path, subprocess.CompletedProcess]]:
    """The smoke study run once per test session through the real CLI (12 trials, 3 epochs): the
    e2e tests and the report tests read the same sweep back from its MLflow store."""
    out = Path(tempfile.mkdtemp(prefix="sm-", dir="/tmp"))
    yield out, run_sweep_cli("+experiment=smoke", "trainer.max_epochs=3", f"paths.output_dir={out}")
    shutil.rmtree(out, ignore_errors=True)
