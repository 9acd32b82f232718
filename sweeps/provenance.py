"""Where a sweep came from: git commit and dirty flag, versions of the key packages."""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path

KEY_PACKAGES = ("torch", "lightning", "ray", "mlflow", "hydra-core", "transformers", "peft", "deepspeed")
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def git_state(root: Path = PROJECT_ROOT) -> dict[str, str]:
    """``{"git.commit": sha, "git.dirty": "true"|"false"}``, or ``unknown`` outside a git checkout."""
    try:
        commit = _git(root, "rev-parse", "HEAD")
        dirty = bool(_git(root, "status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.CalledProcessError):
        return {"git.commit": "unknown", "git.dirty": "unknown"}
    return {"git.commit": commit, "git.dirty": str(dirty).lower()}


def package_versions(names: tuple[str, ...] = KEY_PACKAGES) -> dict[str, str]:
    """``{"version.<package>": version}`` for the installed key packages."""
    versions = {}
    for name in names:
        try:
            versions[f"version.{name}"] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], check=True, capture_output=True, text=True, timeout=10
    ).stdout.strip()
