"""Ends the local Ray processes of a sweep when its driver dies, SIGKILL included.

Ray ties its GCS and raylet to the driver that starts them (``prctl(PR_SET_PDEATHSIG)``), but the
raylet's dashboard and runtime-env agents, once orphaned, report the raylet's death to the GCS,
which is dead too, with a 60-s timeout before they exit (ray-project/ray
python/ray/_private/process_watcher.py ``_check_parent`` → ``report_raylet_error_logs`` →
python/ray/_private/utils.py ``publish_error_to_driver(..., 60)``): they outlive a killed driver by
a minute or more. This small process, started by the driver with a pipe on its stdin, records the
driver's process tree while it lives; when the pipe closes (the driver ended, however), it kills
what it recorded and their children. Run as a script (``python watchdog.py <driver pid>``): it
imports nothing of the project.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys

import psutil

_POLL_S = 0.5


def start_watchdog() -> subprocess.Popen:
    """Start the watchdog of this process (in its own session: Ctrl-C in the terminal is for the
    driver); close its stdin to let it end the processes it saw, then wait for it."""
    return subprocess.Popen([sys.executable, os.path.abspath(__file__), str(os.getpid())],
                            stdin=subprocess.PIPE, start_new_session=True)


def watch(driver_pid: int, poll_s: float = _POLL_S) -> list[int]:
    """Record the descendants ``driver_pid`` starts from now on (Ray's; not what it ran before)
    until stdin closes; kill them; return their pids."""
    driver, me = psutil.Process(driver_pid), psutil.Process()
    seen: dict[int, psutil.Process] = {}
    while True:
        with contextlib.suppress(psutil.Error):
            for proc in driver.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    if proc.pid != me.pid and proc.pid not in seen and proc.create_time() >= me.create_time():
                        seen[proc.pid] = proc
        readable, _, _ = select.select([sys.stdin], [], [], poll_s)
        if readable and not os.read(sys.stdin.fileno(), 1):
            break
    return kill_all(list(seen.values()))


def kill_all(procs: list[psutil.Process]) -> list[int]:
    """SIGKILL ``procs`` and their living children (psutil refuses a pid that was reused)."""
    everything = {p.pid: p for p in procs}
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            everything.update((child.pid, child) for child in proc.children(recursive=True))
    killed = []
    for pid, proc in everything.items():
        with contextlib.suppress(psutil.Error):
            proc.kill()
            killed.append(pid)
    return killed


if __name__ == "__main__":
    watch(int(sys.argv[1]))
