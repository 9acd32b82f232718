"""The watchdog ends what a driver started once the driver is SIGKILLed, and nothing it ran before."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

import psutil

from tests.conftest import ROOT

DRIVER = """
import subprocess, sys, time
before = subprocess.Popen(["sleep", "60"], start_new_session=True)
time.sleep(0.1)
from sweeps.watchdog import start_watchdog
watchdog = start_watchdog()
time.sleep(0.2)
after = subprocess.Popen(["sleep", "60"], start_new_session=True)  # leaves the driver's session, as Ray's agents outlive it
print(before.pid, after.pid, watchdog.pid, flush=True)
time.sleep(60)
"""


def _gone(pid: int, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return True
        time.sleep(0.1)
    return False


def test_a_killed_drivers_processes_end_and_older_ones_stay():
    driver = subprocess.Popen([sys.executable, "-c", DRIVER], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    before, after, watchdog = map(int, driver.stdout.readline().split())
    try:
        time.sleep(1.5)  # the watchdog has seen the new child
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait(timeout=10)
        assert _gone(after, within_s=10), "a process the driver started after the watchdog outlived it"
        assert _gone(watchdog, within_s=10), "the watchdog ends once its work is done"
        assert psutil.pid_exists(before), "a process from before the watchdog is not the sweep's"
    finally:
        for pid in (before, after):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
