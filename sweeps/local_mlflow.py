"""A real ``mlflow server`` on 127.0.0.1 over a folder's SQLite store, shut down by its process group:
what the benchmarks and the tests use to write through MLflow's REST API as a shared server would."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from sweeps.sqlite_store import seed_sqlite_store


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen | None = None, timeout: float = 120) -> None:
    """Wait until ``url`` answers (any HTTP status); raises when ``process`` exits or time runs out."""
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


@contextlib.contextmanager
def mlflow_server(folder: Path) -> Iterator[str]:
    """A real ``mlflow server`` on 127.0.0.1 with a fresh SQLite store and artifact folder; yields its URL."""
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
    seed_sqlite_store(f"sqlite:///{folder}/server.db")  # a copy, not MLflow's migrations
    with (folder / "mlflow-server.log").open("a") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
             "--backend-store-uri", f"sqlite:///{folder}/server.db",
             "--artifacts-destination", str(folder / "server-artifacts"), "--workers", "1"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
        )


def stop_server(server: subprocess.Popen) -> None:
    """SIGKILL a server and its workers (its own process group: it was started in a new session), and reap it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(server.pid, signal.SIGKILL)
    server.wait(timeout=30)
