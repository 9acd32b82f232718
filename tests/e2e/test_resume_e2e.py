"""One smoke sweep (1 learning rate x 2 widths x 2 seeds, 4 epochs) interrupted every way a driver can
be, on one output folder; each check reads what the story recorded:

1. two drivers of the same name start together on a fresh folder: one is refused with one line
   naming the other's PID and host (exit 2); the other is SIGKILLed at the first result;
2. two more SIGKILLs, further into the sweep each time, each resumed with ``resume=true``: no
   process of a killed driver's Ray session outlives it by 15 s;
3. Ctrl-C (SIGINT) mid-way, between the second and third kill: exit 130, the resume command
   printed, the parent run KILLED;
4. a resume that asks for other settings is refused, naming them (nothing restarts);
5. the last resume finishes every trial: one parent, one child per trial, every epoch logged once,
   each trial's last checkpoints kept and its older ones deleted;
6. the same name again without resume, two drivers at once on the folder the sweep left: one is
   refused, the other starts a fresh parent run and sets the finished sweep's Ray state aside.

(A driver killed on a real two-node cluster is resumed in tests/e2e/test_cluster_e2e.py.)
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest
from mlflow import MlflowClient

from sweeps.runner import KEEP_CHECKPOINTS
from tests.conftest import ROOT, run_sweep_cli
from tests.e2e.mlflow_store import metric_steps, store_uri, sweep_runs

pytestmark = pytest.mark.slow
NAME = "resumable"
ARGS = ["+experiment=smoke", f"sweep.name={NAME}", "sweep.verbose=0", "sweep.space.optim.lr='choice(0.01)'"]
# The state is saved at every step: these trials take a second, less than the default's interval
FULL = ["trainer.max_epochs=4", "sweep.seeds=[0,1]", "sweep.space.model.hidden='choice(16,32)'",
        "sweep.max_concurrent=2", "sweep.save_state_s=0"]
# Kill when Tune has recorded this many results (4 trials x (4 epochs + the final report) = 20): at
# the first result, before any trial finished, and late; Ctrl-C after the second kill, at 9 results:
# then one trial has finished and, two running at a time, the fourth has not started, so Ctrl-C
# always lands mid-sweep, however fast the trials end meanwhile
KILL_AT = [1, 5, 13]
CTRL_C_AT = 9
OUTLIVE_S = 15


@dataclass
class Story:
    """What each step of the interrupted sweep left behind."""

    out: Path
    pairs: list[dict] = field(default_factory=list)  # two drivers of one name at once, twice
    left: list[list[tuple[int, str]]] = field(default_factory=list)  # per SIGKILL: what outlived it
    ctrl_c: dict = field(default_factory=dict)
    other_settings: subprocess.CompletedProcess | None = None
    resumed: subprocess.CompletedProcess | None = None
    checkpoints: dict[str, list[str]] = field(default_factory=dict)  # per trial, once the sweep finished
    parent_id: str = ""  # the resumed sweep's parent run


def _start(args: list[str], err: Path) -> subprocess.Popen:
    with err.open("w") as stream:
        driver = subprocess.Popen([sys.executable, str(ROOT / "sweep.py"), *args], cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=stream, start_new_session=True)
    driver.err = err
    return driver


def _said(driver: subprocess.Popen) -> str:
    """The last lines the driver wrote to its stderr file."""
    return " | ".join(driver.err.read_text().splitlines()[-15:])


def _results(state: Path) -> int:
    """The results Tune has recorded: distinct (trial, iteration) pairs of every trial's result.json.
    Not its lines: a trial resumed from a checkpoint appends the epochs it runs again."""
    while True:
        try:
            seen = set()
            for path in state.rglob("result.json"):
                for line in path.read_text().splitlines():
                    with contextlib.suppress(json.JSONDecodeError):  # a line being written
                        seen.add((path.parent.name, json.loads(line).get("training_iteration")))
            return len(seen)
        except FileNotFoundError:  # an old checkpoint folder deleted while the walk was in it
            continue


def _run_until(driver: subprocess.Popen, state: Path, results: int) -> dict[int, psutil.Process]:
    """Wait until ``results`` are recorded; returns every process the driver started meanwhile."""
    started: dict[int, psutil.Process] = {}
    deadline = time.monotonic() + 300
    while _results(state) < results:
        assert driver.poll() is None, f"the driver ended (exit {driver.returncode}) before {results} results: " \
            + _said(driver)
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


def _kill(driver: subprocess.Popen, state: Path, results: int, tmp_dir: Path) -> list[tuple[int, str]]:
    """SIGKILL the driver at ``results``; the processes of its Ray session still alive 15 s later
    (killed then, so that none outlives the test)."""
    try:
        started = _run_until(driver, state, results)
    finally:
        if driver.poll() is None:
            os.kill(driver.pid, signal.SIGKILL)
            driver.wait(timeout=30)
    deadline = time.monotonic() + OUTLIVE_S
    while _alive(started, tmp_dir) and time.monotonic() < deadline:
        time.sleep(0.5)
    left = _alive(started, tmp_dir)
    for pid, _ in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return left


def _kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL the driver and everything it started (Ray's own processes included)."""
    tree = [process.pid, *(p.pid for p in psutil.Process(process.pid).children(recursive=True))]
    for pid in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait(timeout=30)


def _finished(out: Path) -> list:
    try:
        return [c for c in sweep_runs(out, NAME)[1] if c.info.status == "FINISHED"]
    except Exception:  # noqa: BLE001 - the store may be mid-creation
        return []


def _failures(out: Path) -> str:
    """The error tag of each failed child run: what a failed assertion should show."""
    failed = [c for c in sweep_runs(out, NAME)[1] if c.info.status == "FAILED"]
    return "\n".join(f"{c.info.run_name}: {c.data.tags.get('error', '?')[-1500:]}" for c in failed)


def _pair(args: list[str], out: Path, round_: int) -> tuple[dict, subprocess.Popen]:
    """Two drivers of one name started together; waits for the first to end (the refused one).
    Returns what the refused one said and the driver that runs on."""
    drivers = [_start(args, out / f"pair{round_}-{i}.err") for i in range(2)]
    deadline = time.monotonic() + 300
    while all(d.poll() is None for d in drivers):
        assert time.monotonic() < deadline, "neither of two same-name sweeps ended"
        time.sleep(0.2)
    (refused,) = [d for d in drivers if d.poll() is not None]
    (ran,) = [d for d in drivers if d is not refused]
    err = (out / f"pair{round_}-{drivers.index(refused)}.err").read_text()
    return {"code": refused.returncode, "lines": err.strip().splitlines(), "ran_pid": ran.pid}, ran


def _ctrl_c(args: list[str], out: Path, state: Path) -> dict:
    """Resume, then Ctrl-C (SIGINT) at CTRL_C_AT results: what the driver said and left."""
    driver = _start(args, out / "ctrl-c.err")
    try:
        _run_until(driver, state, max(CTRL_C_AT, _results(state) + 1))
        driver.send_signal(signal.SIGINT)  # Tune saves its state and the driver exits
        driver.wait(timeout=120)
    finally:
        if driver.poll() is None:
            _kill_tree(driver)
    return {"code": driver.returncode, "stderr": (out / "ctrl-c.err").read_text(),
            "parents": [p.info.status for p in sweep_runs(out, NAME)[0]], "finished": len(_finished(out))}


@pytest.fixture(scope="module")
def story() -> Iterator[Story]:
    out = Path(tempfile.mkdtemp(prefix="rs-", dir="/tmp"))  # short: Ray's socket paths
    try:
        yield _tell(out)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _tell(out: Path) -> Story:
    tmp_dir = out / "r"
    state = out / "ray" / NAME
    common = [*ARGS, *FULL, f"paths.output_dir={out}", f"cluster.tmp_dir={tmp_dir}"]
    told = Story(out)

    refused, driver = _pair(common, out, 1)  # a fresh folder
    told.left.append(_kill(driver, state, KILL_AT[0], tmp_dir))
    refused["parents"] = [p.info.status for p in sweep_runs(out, NAME)[0]]  # the store answers
    told.pairs.append(refused)
    for kill, results in enumerate(KILL_AT[1:], start=2):
        if results > CTRL_C_AT >= KILL_AT[kill - 2]:
            told.ctrl_c = _ctrl_c([*common, "resume=true"], out, state)
        driver = _start([*common, "resume=true"], out / f"driver{kill}.err")
        told.left.append(_kill(driver, state, results, tmp_dir))

    told.other_settings = run_sweep_cli(*ARGS, "trainer.max_epochs=9", *FULL[1:], f"paths.output_dir={out}",
                                        f"cluster.tmp_dir={tmp_dir}", "resume=true")
    told.resumed = run_sweep_cli(*common, "resume=true")
    told.checkpoints = {trial.name: sorted(c.name for c in trial.glob("checkpoint_*"))
                        for trial in state.glob("run_trial_*")}
    (parent,) = sweep_runs(out, NAME)[0]
    told.parent_id = parent.info.run_id

    again = [*ARGS, "trainer.max_epochs=1", "sweep.seeds=[0]", "sweep.space.model.hidden='choice(16)'",
             f"paths.output_dir={out}", f"cluster.tmp_dir={tmp_dir}"]
    refused, driver = _pair(again, out, 2)  # the folder the interrupted sweep left
    refused["ran_code"] = driver.wait(timeout=600)
    refused["parents"] = [p.info.status for p in sweep_runs(out, NAME)[0]]
    told.pairs.append(refused)
    return told


def test_two_sweeps_of_one_name_at_once_one_is_refused_naming_the_other(story):
    for pair in story.pairs:  # a fresh folder, then the folder the interrupted sweep left
        assert pair["code"] == 2 and len(pair["lines"]) == 1, pair["lines"]
        assert pair["lines"][0].startswith(f"error: sweep '{NAME}' is already running")
        assert f"pid {pair['ran_pid']} on host {socket.gethostname()}" in pair["lines"][0]
    first, second = story.pairs
    assert len(first["parents"]) == 1, "the store answers: not left half-created"
    assert second["ran_code"] == 0
    assert second["parents"] == ["FINISHED", "FINISHED"], _failures(story.out)
    parents, _ = sweep_runs(story.out, NAME)
    MlflowClient(store_uri(story.out)).set_tag(parents[0].info.run_id, "checked", "yes")  # and takes writes


def test_no_process_of_a_killed_drivers_ray_session_outlives_it(story):
    assert len(story.left) == len(KILL_AT)
    for kill, left in enumerate(story.left):
        assert not left, f"kill {kill + 1}: Ray processes outlived the driver by {OUTLIVE_S} s: {left}"


def test_ctrl_c_exits_130_names_the_resume_command_and_closes_the_parent_killed(story):
    assert story.ctrl_c["code"] == 130, story.ctrl_c["stderr"][-2000:]
    assert "resume=true" in story.ctrl_c["stderr"]
    assert story.ctrl_c["parents"] == ["KILLED"]
    assert 1 <= story.ctrl_c["finished"] < 4


def test_a_resume_that_asks_for_other_settings_is_refused_naming_them(story):
    other = story.other_settings
    assert other.returncode == 2 and "trainer.max_epochs=9" in other.stderr, other.stderr[-2000:]
    assert other.stderr.strip().splitlines()[-1].startswith("error: resume: this command differs")


def test_the_resumed_sweep_finishes_every_trial_and_logs_every_epoch_once(story):
    assert story.resumed.returncode == 0, story.resumed.stderr[-2000:] + _failures(story.out)
    parents, children = sweep_runs(story.out, NAME)
    (parent,) = [p for p in parents if p.info.run_id == story.parent_id]
    assert parent.info.status == "FINISHED", "the resumed sweep reuses its parent run"
    mine = [c for c in children if c.data.tags["mlflow.parentRunId"] == story.parent_id]
    assert len(mine) == 4, "exactly one child run per trial"
    assert len({c.data.tags["ray.trial_id"] for c in mine}) == 4
    for child in mine:
        assert child.info.status == "FINISHED"
        # a finished trial that ran again, or an epoch reported twice, would show a step twice
        assert metric_steps(story.out, child.info.run_id, "train_loss") == [1, 2, 3, 4], child.info.run_name
    assert len(story.checkpoints) == 4
    for trial, kept in story.checkpoints.items():  # old ones deleted, only once no resume could need them
        assert 1 <= len(kept) <= KEEP_CHECKPOINTS, (trial, kept)


def test_the_same_name_without_resume_starts_afresh_and_sets_the_old_state_aside(story):
    parents, children = sweep_runs(story.out, NAME)
    assert len(parents) == 2 and len(children) == 4 + 1
    old_states = [p for p in (story.out / "ray").iterdir() if p.name.startswith(f"{NAME}.")]
    assert len(old_states) == 1, "the earlier sweep's Ray state is kept aside, not mixed in"
