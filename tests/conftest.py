"""Shared fixtures: short temp output folders (Ray's socket paths must stay short), sweep runner, the
smoke sweep shared by the end-to-end and report tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.watch import Watched, watch_sweep

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


SHARED_SMOKE_SWEEP = "smoke_sweep"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under ``pytest -n`` (xdist's loadgroup), a test file runs on one worker, so its module
    fixtures run once; the files that read the session's smoke sweep share one worker (one sweep)."""
    for item in items:
        if not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))


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


@dataclass
class SmokeSweep:
    """The smoke study run once per session (see ``smoke_sweep``), and what was watched while it ran."""

    out: Path  # the output folder: MLflow store, Tune state
    ray_root: Path  # cluster.tmp_dir: Ray's session folder, outside the output folder
    marker: Path  # written when the injected failure happened
    secrets: tuple[str, ...]  # one in the driver's environment, one on its command line
    watched: Watched

    @property
    def result(self) -> subprocess.CompletedProcess:
        return self.watched.result


@pytest.fixture(scope="session")
def smoke_sweep() -> Iterator[SmokeSweep]:
    """The smoke study run once per test session through the real CLI (12 trials, 3 epochs), read
    back by the e2e tests and the report tests. One sweep checked for several things: one trial
    fails once at epoch 1 and resumes from its checkpoint; a secret in the environment and one on
    the command line must stay out of the outputs; Ray's sockets and processes are watched."""
    base = Path(tempfile.mkdtemp(prefix="sm-", dir="/tmp"))
    out, ray_root, marker = base / "out", base / "r", base / "failed-once"
    secrets = (f"aws-{uuid.uuid4().hex}", "hunter2")
    env = {**os.environ, "AWS_SECRET_ACCESS_KEY": secrets[0], "PYTHONPATH": str(ROOT)}
    watched = watch_sweep(
        ["+experiment=smoke", "trainer.max_epochs=3", f"paths.output_dir={out}", f"cluster.tmp_dir={ray_root}",
         f"+db.password={secrets[1]}", "+callbacks.fail._target_=modules.callbacks.fault_injection.FailOnce",
         "+callbacks.fail.epoch=1", f"+callbacks.fail.marker={marker}"],
        env,
    )
    yield SmokeSweep(out, ray_root, marker, secrets, watched)
    shutil.rmtree(base, ignore_errors=True)
