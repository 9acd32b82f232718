"""Shared fixtures: short temp output folders (Ray's socket paths must stay short), sweep runner, the
smoke sweep shared by the end-to-end and report tests (once per run, across xdist workers)."""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from filelock import FileLock

from tests.e2e.watch import Watched, watch_sweep

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # workers share the cores: one intra-op thread each, not threads that spin waiting for a core
    os.environ.setdefault("OMP_NUM_THREADS", "1")


# One folder per test run, shared by its xdist workers (they inherit the controller's environment)
RUN_VARIABLE = "REPSWEEP_TEST_RUN"


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault(RUN_VARIABLE, uuid.uuid4().hex[:10])


def pytest_unconfigure(config: pytest.Config) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER"):  # the controller, after every worker, or a plain run
        shutil.rmtree(_run_folder(), ignore_errors=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The end-to-end sweeps first (a stable sort): with ``-n`` and ``--no-loadscope-reorder``
    (the Makefile), the long files start first and the many short ones fill in behind them."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def _run_folder() -> Path:
    """This test run's shared folder; short, as Ray puts unix sockets under it."""
    return Path("/tmp") / f"sm-{os.environ[RUN_VARIABLE]}"


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A temp folder with a short path (Ray puts unix sockets under its temp dir)."""
    path = Path(tempfile.mkdtemp(prefix="rs-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


# For a sweep whose test checks nothing of concurrent trials: one trial at a time. The suite's two
# pytest workers keep both cores busy already, so a second concurrent trial only adds the start-up of
# a second trial worker (its torch and Lightning imports, about 9 CPU-s). The smoke sweep and the
# resume story run trials side by side on purpose, as PBT's population must.
ONE_AT_A_TIME = "sweep.max_concurrent=1"


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
def smoke_sweep() -> SmokeSweep:
    """The smoke study run once per test run through the real CLI (12 trials, 3 epochs), read back
    by the e2e tests and the report tests. One sweep checked for several things: one trial fails
    once at epoch 1 and resumes from its checkpoint; a secret in the environment and one on the
    command line must stay out of the outputs; Ray's sockets and processes are watched. Under
    ``pytest -n`` the first worker that needs it runs it; the others wait and read its record."""
    base = _run_folder()
    base.mkdir(mode=0o700, exist_ok=True)
    record = base / "smoke_sweep.pickle"
    with FileLock(base / "smoke_sweep.lock"):
        if not record.exists():
            record.write_bytes(pickle.dumps(_run_smoke_sweep(base)))
    return pickle.loads(record.read_bytes())


def _run_smoke_sweep(base: Path) -> SmokeSweep:
    out, ray_root, marker = base / "out", base / "r", base / "failed-once"
    secrets = (f"aws-{uuid.uuid4().hex}", "hunter2")
    env = {**os.environ, "AWS_SECRET_ACCESS_KEY": secrets[0], "PYTHONPATH": str(ROOT)}
    watched = watch_sweep(
        ["+experiment=smoke", "trainer.max_epochs=3", f"paths.output_dir={out}", f"cluster.tmp_dir={ray_root}",
         f"+db.password={secrets[1]}", "+callbacks.fail._target_=modules.callbacks.fault_injection.FailOnce",
         "+callbacks.fail.epoch=1", f"+callbacks.fail.marker={marker}"],
        env,
    )
    return SmokeSweep(out, ray_root, marker, secrets, watched)
