"""A smoke sweep (2 designs x 2 seeds, 3 epochs) whose driver is SIGKILLed at five moments, further
into the sweep each time, and resumed with resume=true after each: every trial finishes, every
epoch is logged once, and no process of a killed driver's Ray session outlives it by 15 s."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import ROOT, run_sweep_cli
from tests.e2e.mlflow_store import metric_steps, sweep_runs

pytestmark = pytest.mark.slow
NAME = "killed"
ARGS = ["+experiment=smoke", "trainer.max_epochs=3", "sweep.seeds=[0,1]", f"sweep.name={NAME}",
        "sweep.space.optim.lr='choice(0.01)'", "sweep.space.model.hidden='choice(16,32)'"]
# Kill when Tune has recorded this many results (4 trials x (3 epochs + the final report) = 16)
KILL_AT = [1, 4, 7, 10, 13]
OUTLIVE_S = 15


def _results(state: Path) -> int:
    """The results Tune has recorded (the lines of every trial's result.json)."""
    return sum(len(p.read_text().splitlines()) for p in state.rglob("result.json"))


def _run_until(driver: subprocess.Popen, state: Path, results: int) -> dict[int, psutil.Process]:
    """Wait until ``results`` are recorded; returns every process the driver started meanwhile."""
    started: dict[int, psutil.Process] = {}
    deadline = time.monotonic() + 300
    while _results(state) < results:
        assert driver.poll() is None, f"the driver ended before {results} results"
        assert time.monotonic() < deadline, f"{results} results not reached"
        with contextlib.suppress(psutil.Error):
            started.update((p.pid, p) for p in psutil.Process(driver.pid).children(recursive=True))
        time.sleep(0.2)
    return started


def _session(tmp_dir: Path) -> set[int]:
    """Processes whose command line names the sweep's Ray temp dir (its GCS, raylet, agents)."""
    found = set()
    for proc in psutil.process_iter(["pid", "cmdline"]):
        if str(tmp_dir) in " ".join(proc.info["cmdline"] or []):
            found.add(proc.info["pid"])
    return found


def _alive(procs: dict[int, psutil.Process], tmp_dir: Path) -> list[tuple[int, str]]:
    left = []
    for pid, proc in procs.items():
        with contextlib.suppress(psutil.Error):
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                left.append((pid, proc.name()))
    return sorted({*left, *((pid, "in session") for pid in _session(tmp_dir) if pid not in procs)})


def test_five_driver_kills_each_resumed_finish_every_trial_and_log_every_epoch_once(short_tmp):
    tmp_dir, state = short_tmp / "r", short_tmp / "ray" / NAME
    common = [*ARGS, f"paths.output_dir={short_tmp}", f"cluster.tmp_dir={tmp_dir}", "sweep.verbose=0"]
    for kill, results in enumerate(KILL_AT):
        args = [*common, *(["resume=true"] if kill else [])]
        with (short_tmp / f"driver{kill}.err").open("w") as err:
            driver = subprocess.Popen([sys.executable, str(ROOT / "sweep.py"), *args], cwd=ROOT,
                                      stdout=subprocess.DEVNULL, stderr=err)
        try:
            started = _run_until(driver, state, results)
        finally:
            os.kill(driver.pid, signal.SIGKILL)
            driver.wait(timeout=30)
        deadline = time.monotonic() + OUTLIVE_S
        while _alive(started, tmp_dir) and time.monotonic() < deadline:
            time.sleep(0.5)
        left = _alive(started, tmp_dir)
        for pid, _ in left:  # clean up before failing, so no process outlives the test
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        assert not left, f"kill {kill + 1}: Ray processes outlived the driver by {OUTLIVE_S} s: {left}"

    result = run_sweep_cli(*common, "resume=true")
    assert result.returncode == 0, result.stderr[-3000:]
    parents, children = sweep_runs(short_tmp, NAME)
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert len(children) == 4 and all(c.info.status == "FINISHED" for c in children)
    for child in children:
        assert metric_steps(short_tmp, child.info.run_id, "train_loss") == [1, 2, 3], child.info.run_name
