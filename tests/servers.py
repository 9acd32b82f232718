"""Real servers for end-to-end tests, on loopback only, each shut down by PID (the MLflow server's
helpers live in sweeps/local_mlflow.py, which the benchmarks use too)."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil

from sweeps.local_mlflow import (
    free_port,
    mlflow_server,
    start_mlflow_server,
    stop_server,
    wait_for_http,
)

BIN = Path(sys.executable).parent
__all__ = ["BIN", "free_port", "kill_pids", "mlflow_server", "ray_cluster", "start_mlflow_server", "stop_server",
           "wait_for_http"]


def kill_pids(pids: set[int]) -> None:
    """SIGKILL these processes and everything they started."""
    tree = set(pids)
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            tree.update(child.pid for child in psutil.Process(pid).children(recursive=True))
    for pid in tree:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def ray_cluster(folder: Path, nodes: int = 2, cpus_per_node: int = 1) -> Iterator[str]:
    """A real multi-node Ray cluster on loopback (``ray start``); yields the job-submission URL.

    Token auth stays on: one token and ``RAY_AUTH_MODE=token`` in this process's environment reach
    every node, the job client and (through the head) the job's driver.
    """
    os.environ["RAY_AUTH_MODE"] = "token"
    os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(32))
    from ray._raylet import Config

    Config.initialize("")  # this process's Ray client re-reads the auth mode, as Ray itself does
    gcs_port, dashboard_port = free_port(), free_port()
    common = ["--num-cpus", str(cpus_per_node), "--object-store-memory", str(80 * 1024**2),
              "--node-ip-address", "127.0.0.1", "--disable-usage-stats"]
    before = set(psutil.pids())
    try:
        # each node's dashboard agent on its own free port: Ray's default (52365) is one per machine,
        # and a node whose agent cannot bind it has no job agent ("No available agent to submit job")
        _ray("start", "--head", "--port", str(gcs_port), "--include-dashboard", "true",
             "--dashboard-host", "127.0.0.1", "--dashboard-port", str(dashboard_port),
             "--dashboard-agent-listen-port", str(free_port()), "--temp-dir", str(folder / "ray"), *common)
        for _ in range(nodes - 1):
            _ray("start", "--address", f"127.0.0.1:{gcs_port}", "--dashboard-agent-listen-port", str(free_port()),
                 *common)
        url = f"http://127.0.0.1:{dashboard_port}"
        wait_for_http(f"{url}/api/version")
        yield url
    finally:
        kill_pids(_ray_processes_since(before, folder))


def _ray(*args: str) -> None:
    subprocess.run([str(BIN / "ray"), *args], check=True, capture_output=True, text=True, timeout=180)


def _ray_processes_since(before: set[int], folder: Path) -> set[int]:
    """Processes started after ``before`` whose command line names the cluster's folder (GCS,
    raylets, dashboard); ``kill_pids`` adds their descendants (agents, workers)."""
    mine = set()
    for proc in psutil.process_iter(["pid", "cmdline"]):
        if proc.info["pid"] not in before and str(folder) in " ".join(proc.info["cmdline"] or []):
            mine.add(proc.info["pid"])
    return mine
