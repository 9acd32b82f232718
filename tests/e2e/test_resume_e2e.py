"""A sweep interrupted with Ctrl-C (SIGINT to its driver) mid-way, then resumed with resume=true.
(A driver killed outright, SIGKILL, is resumed in tests/e2e/test_cluster_e2e.py.) Then the same
name without resume starts a fresh sweep."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from tests.conftest import ROOT, run_sweep_cli
from tests.e2e.mlflow_store import metric_steps, sweep_runs

pytestmark = pytest.mark.slow
ARGS = ["+experiment=smoke", "trainer.max_epochs=4", "sweep.max_concurrent=1", "sweep.name=resumable",
        "sweep.seeds=[0]"]


def _kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL the driver and everything it started (Ray's own processes included)."""
    tree = [process.pid, *(p.pid for p in psutil.Process(process.pid).children(recursive=True))]
    for pid in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait(timeout=30)


def _finished(output_dir) -> list:
    try:
        return [c for c in sweep_runs(output_dir, "resumable")[1] if c.info.status == "FINISHED"]
    except Exception:  # noqa: BLE001 - the store may be mid-creation
        return []


def test_interrupted_sweep_exits_130_and_resumes_without_rerunning_finished_trials(short_tmp):
    log = short_tmp / "driver.err"
    with log.open("w") as err:
        driver = subprocess.Popen(
            [sys.executable, str(ROOT / "sweep.py"), *ARGS, f"paths.output_dir={short_tmp}"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 300
        while len(_finished(short_tmp)) < 1 and time.monotonic() < deadline and driver.poll() is None:
            time.sleep(1)
        assert driver.poll() is None, "the sweep ended before it could be interrupted"
        driver.send_signal(signal.SIGINT)  # Ctrl-C: Tune saves its state and the driver exits
        driver.wait(timeout=120)
    finally:
        if driver.poll() is None:
            _kill_tree(driver)
    stderr = log.read_text()
    assert driver.returncode == 130, stderr[-2000:]
    assert "resume=true" in stderr
    parents, _ = sweep_runs(short_tmp, "resumable")
    assert parents[0].info.status == "KILLED"
    done_before = {c.data.tags["ray.trial_id"]: c.info.run_id for c in _finished(short_tmp)}
    assert 1 <= len(done_before) < 4

    # a resume that asks for other settings is refused, naming them (nothing restarts)
    other = run_sweep_cli(*ARGS, f"paths.output_dir={short_tmp}", "resume=true", "trainer.max_epochs=9")
    assert other.returncode == 2 and "trainer.max_epochs=9" in other.stderr, other.stderr[-2000:]
    assert other.stderr.strip().splitlines()[-1].startswith("error: resume: this command differs")

    result = run_sweep_cli(*ARGS, f"paths.output_dir={short_tmp}", "resume=true")
    assert result.returncode == 0, result.stderr[-3000:]

    parents, children = sweep_runs(short_tmp, "resumable")
    assert len(parents) == 1, "the resumed sweep reuses its parent run"
    assert parents[0].info.status == "FINISHED"
    assert len(children) == 4, "exactly one child run per trial"
    assert len({c.data.tags["ray.trial_id"] for c in children}) == 4
    assert all(c.info.status == "FINISHED" for c in children)
    for trial_id, run_id in done_before.items():
        # A finished trial that ran again would have logged its epochs twice.
        assert metric_steps(short_tmp, run_id, "train_loss") == [1, 2, 3, 4], trial_id

    # The same name again, without resume: a fresh parent; the finished sweep's Ray state is set aside.
    again = run_sweep_cli(*ARGS, f"paths.output_dir={short_tmp}", "trainer.max_epochs=1",
                          "sweep.space.model.hidden='choice(16)'")
    assert again.returncode == 0, again.stderr[-3000:]
    parents, children = sweep_runs(short_tmp, "resumable")
    assert len(parents) == 2 and len(children) == 4 + 2
    old_states = [p for p in (short_tmp / "ray").iterdir() if p.name.startswith("resumable.")]
    assert len(old_states) == 1, "the earlier sweep's Ray state is kept aside, not mixed in"
