"""Where the sweep's Ray runs: the embedded local instance (more targets come with scale-out)."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import ray

# Ray puts unix sockets under its temp dir; their paths must stay under 107 bytes.
_MAX_TMP_DIR_LEN = 45


class LocalCluster:
    """A fresh local Ray instance (``address="local"``) with its temp dir in the output folder.

    ``address="local"`` always starts a new instance: a stale cluster file left by a crashed run
    cannot make ``ray.init`` attach to a dead cluster. Ray's token auth (on by default in 2.60)
    is left on.
    """

    def __init__(self, num_cpus: int | None = None, num_gpus: int | None = None, tmp_dir: str | None = None) -> None:
        self.num_cpus = num_cpus
        self.num_gpus = num_gpus
        self.tmp_dir = tmp_dir

    def connect(self) -> None:
        if ray.is_initialized():
            return
        ray.init(
            address="local",
            num_cpus=self.num_cpus,
            num_gpus=self.num_gpus,
            _temp_dir=self.temp_dir(),
            include_dashboard=False,
            log_to_driver=True,
            configure_logging=True,
            logging_level="warning",
        )

    def shutdown(self) -> None:
        if ray.is_initialized():
            ray.shutdown()

    def temp_dir(self) -> str | None:
        """The configured temp dir, or a short one in the system temp folder when it is too long."""
        if self.tmp_dir is None:
            return None
        path = Path(self.tmp_dir).resolve()
        if len(str(path)) > _MAX_TMP_DIR_LEN:
            digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
            path = Path(tempfile.gettempdir()) / f"ray-{digest}"
        path.mkdir(parents=True, exist_ok=True)
        return str(path)


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
