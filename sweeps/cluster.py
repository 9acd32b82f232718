"""Where the sweep's Ray runs: the embedded local instance, or an existing cluster."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import psutil
import ray
from ray._private import ray_constants

from sweeps.errors import SweepConfigError
from sweeps.watchdog import start_watchdog

# Ray puts unix sockets under its temp dir; their paths must stay under 107 bytes.
_MAX_TMP_DIR_LEN = 45
LOOPBACK = "127.0.0.1"
RAY_DIR = "ray"
# Ray 2.60 keeps a node IP of 127.0.0.1 only while this is off: ray.init passes _node_ip_address
# through services.resolve_ip_for_localhost, which swaps loopback for the host's IP unless
# ray_constants.ENABLE_RAY_CLUSTER (this variable, read at import) is false
# (ray-project/ray python/ray/_private/services.py resolve_ip_for_localhost / get_node_ip_address,
# ray_constants.py ENABLE_RAY_CLUSTER). With the node IP exactly "127.0.0.1" the GCS, raylet and
# core-worker gRPC servers listen on loopback only (src/ray/gcs/gcs_server.cc: GcsServer's rpc_server_
# is built with listen_to_localhost_only = node_ip_address == "127.0.0.1"; src/ray/rpc/grpc_server.cc
# GrpcServer::Run binds "127.0.0.1:" then), and so do the dashboard and runtime-env agents
# (python/ray/dashboard/agent.py, http_server_agent.py and _private/runtime_env/agent/main.py bind
# the node IP they are given).
_CLUSTER_ENV = ray_constants.ENABLE_RAY_CLUSTERS_ENV_VAR
_GRACE_S = 10.0


class LocalCluster:
    """A fresh local Ray instance (``address="local"``) on loopback only, with a private temp dir.

    ``address="local"`` always starts a new instance: a stale cluster file left by a crashed run
    cannot make ``ray.init`` attach to a dead cluster. Ray's token auth (on by default in 2.60)
    is left on; the dashboard is off. Ray's session logs (which hold the driver's environment,
    credentials included) go to an owner-only (0700) folder outside the output folder, by default
    ``<system temp>/repsweep-<uid>/ray``. ``shutdown`` ends every Ray process the sweep started;
    a watchdog process (``sweeps/watchdog.py``) ends them when the driver is killed.
    """

    def __init__(self, num_cpus: int | None = None, num_gpus: int | None = None, tmp_dir: str | None = None) -> None:
        self.num_cpus = num_cpus
        self.num_gpus = num_gpus
        self.tmp_dir = tmp_dir
        self._env_before: str | None = None
        self._older: set[int] = set()  # the driver's child processes from before Ray started
        self._watchdog: subprocess.Popen | None = None

    def connect(self) -> None:
        if ray.is_initialized():
            return
        temp_dir = self.temp_dir()
        self._watchdog = start_watchdog()  # Ray's processes end with the driver, even a SIGKILLed one
        self._older = {p.pid for p in psutil.Process().children(recursive=True)}
        self._env_before = os.environ.get(_CLUSTER_ENV)
        os.environ[_CLUSTER_ENV] = "0"  # Ray's own child processes read it at import
        with _loopback_node_ip():
            ray.init(
                address="local",
                _node_ip_address=LOOPBACK,
                num_cpus=self.num_cpus,
                num_gpus=self.num_gpus,
                _temp_dir=temp_dir,
                include_dashboard=False,
                log_to_driver=True,
                configure_logging=True,
                logging_level="warning",
                # Ray would start one idle worker per CPU for the driver; Tune and Train start their
                # actors in workers of their own, so on a laptop those only take CPU from the start
                _system_config={"prestart_worker_first_driver": False},
            )

    def shutdown(self) -> None:
        if ray.is_initialized():
            started = [p for p in psutil.Process().children(recursive=True) if p.pid not in self._older]
            ray.shutdown()
            end_processes(started)
        if self._watchdog is not None:
            self._watchdog.stdin.close()
            self._watchdog.wait(timeout=30)
            self._watchdog = None
        if self._env_before is None:
            os.environ.pop(_CLUSTER_ENV, None)
        else:
            os.environ[_CLUSTER_ENV] = self._env_before

    def temp_dir(self) -> str:
        """Ray's temp dir: ``ray/`` inside an owner-only folder (Ray makes its own temp dir 0777,
        so the 0700 parent is what keeps other users out): ``cluster.tmp_dir`` if set, else a
        per-user folder in the system temp folder (also when the path is too long for Ray's sockets)."""
        path = Path(self.tmp_dir).resolve() if self.tmp_dir else None
        if path is None or len(str(path / RAY_DIR)) > _MAX_TMP_DIR_LEN:
            suffix = f"-{hashlib.sha1(str(path).encode()).hexdigest()[:10]}" if path else ""
            path = Path(tempfile.gettempdir()) / f"repsweep-{os.getuid()}{suffix}"
        return str(private_dir(path) / RAY_DIR)


def private_dir(path: Path) -> Path:
    """Create ``path`` (mode 0700) or check that an existing one is ours, then make it 0700."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with suppress(FileExistsError):
        path.mkdir(mode=0o700)
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise SweepConfigError(f"Ray temp dir {path} is not a folder owned by this user; remove it "
                               "or set cluster.tmp_dir")
    os.chmod(path, 0o700)
    return path


@contextmanager
def _loopback_node_ip() -> Iterator[None]:
    """``ENABLE_RAY_CLUSTER`` off while ``ray.init`` resolves the node IP (see the module notes)."""
    before = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = before


def end_processes(processes: list[psutil.Process], grace_s: float = _GRACE_S) -> None:
    """Wait for ``processes`` to exit after ``ray.shutdown``; terminate, then kill, the rest
    (Ray's agents otherwise linger until they notice their raylet is gone)."""
    _, alive = psutil.wait_procs(processes, timeout=grace_s)
    for proc in alive:
        try:
            proc.terminate()
        except psutil.NoSuchProcess:
            continue
    _, alive = psutil.wait_procs(alive, timeout=3)
    for proc in alive:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            continue


class AddressCluster:
    """An existing Ray cluster: ``ray://host:10001`` from outside, ``auto`` from inside (a Ray job).

    Token auth (``RAY_AUTH_MODE``, the token) comes from the environment, as Ray reads it. With
    ``ship_code: true`` the project folder travels in Ray's runtime environment (``working_dir``) for
    clusters whose image does not contain the code.
    """

    EXCLUDES = [".venv", ".git", "outputs", ".worktrees", "**/__pycache__", "tests/artifacts"]

    def __init__(self, address: str = "auto", ship_code: bool = False, project_dir: str | None = None) -> None:
        self.address = address
        self.ship_code = ship_code
        self.project_dir = project_dir or str(Path(__file__).resolve().parent.parent)

    def runtime_env(self) -> dict | None:
        if not self.ship_code:
            return None
        return {"working_dir": self.project_dir, "excludes": list(self.EXCLUDES)}

    def connect(self) -> None:
        if ray.is_initialized():
            return
        ray.init(address=self.address, runtime_env=self.runtime_env(), logging_level="warning")

    def shutdown(self) -> None:
        if ray.is_initialized():
            ray.shutdown()  # disconnects; the cluster keeps running
