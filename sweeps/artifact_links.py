"""Recording a trial's files on its child run without copying them when the store is local.

MLflow's local artifact repository copies every file (``shutil.copy2``). A frozen embedding trial
exports a sentence-transformers folder whose backbone weights are a hard link to the cached base
model, so a copy per trial would write the whole base model again for every trial of a grid. When
the run's artifact location is a local folder, files are hard-linked into it instead (a copy only
where a link is impossible, e.g. across file systems); any other store gets MLflow's own upload.
MLflow has no linking option, hence this small function of our own.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlparse

from mlflow import MlflowClient
from mlflow.utils.file_utils import local_file_uri_to_path


def local_artifact_dir(artifact_uri: str) -> Path | None:
    """The folder behind a run's artifact URI when it is on this machine, else None."""
    scheme = urlparse(artifact_uri).scheme
    if scheme == "file":
        return Path(local_file_uri_to_path(artifact_uri))
    if scheme == "" or (len(scheme) == 1 and os.name == "nt"):  # a plain path (or a drive letter)
        return Path(artifact_uri)
    return None


def link_or_copy(source: Path, target: Path) -> None:
    """Hard-link ``source`` to ``target`` (replacing it), copying where linking is impossible."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target.unlink()
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def log_artifacts_linked(client: MlflowClient, run_id: str, folder: Path) -> None:
    """Record every file under ``folder`` on ``run_id`` at the same relative paths."""
    destination = local_artifact_dir(client.get_run(run_id).info.artifact_uri)
    if destination is None:
        client.log_artifacts(run_id, str(folder))
        return
    for source in sorted(p for p in folder.rglob("*") if p.is_file()):
        link_or_copy(source, destination / source.relative_to(folder))
