"""Real servers for end-to-end tests, on loopback only, each shut down by PID."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen | None = None, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with code {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return  # it answers (e.g. 401 without the auth token): it is up
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


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
def mlflow_server(folder: Path) -> Iterator[str]:
    """A real ``mlflow server`` on 127.0.0.1 with a fresh SQLite store and artifact folder."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_mlflow_server(folder, port)
    try:
        wait_for_http(f"{url}/health", server)
        yield url
    finally:
        stop_server(server)


def start_mlflow_server(folder: Path, port: int) -> subprocess.Popen:
    """``mlflow server`` on 127.0.0.1:``port`` over ``folder``'s store (started again on the same
    folder, it serves the same runs); its output goes to ``folder/mlflow-server.log``. Without
    MLflow's job runner: five more processes (GenAI jobs) that tracking never uses."""
    with (folder / "mlflow-server.log").open("a") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
             "--backend-store-uri", f"sqlite:///{folder}/server.db",
             "--artifacts-destination", str(folder / "server-artifacts"), "--workers", "1"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
        )


def stop_server(server: subprocess.Popen) -> None:
    """SIGKILL a server and what it started, and reap it."""
    kill_pids({server.pid})
    server.wait(timeout=30)


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
        _ray("start", "--head", "--port", str(gcs_port), "--include-dashboard", "true",
             "--dashboard-host", "127.0.0.1", "--dashboard-port", str(dashboard_port),
             "--temp-dir", str(folder / "ray"), *common)
        for _ in range(nodes - 1):
            _ray("start", "--address", f"127.0.0.1:{gcs_port}", *common)
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
