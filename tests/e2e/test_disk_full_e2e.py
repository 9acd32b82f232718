"""A sweep whose disk fills up ends with one `error:` line and exit 3, and resumes once space is freed.

The output folder is a small tmpfs mounted for the test (skipped where mounting is not allowed).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ONE_AT_A_TIME

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def _mount(folder: Path, size: str) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                          capture_output=True, check=False)
    return done.returncode == 0


def _sweep(out: Path, *extra: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "sweep.py", "+experiment=smoke", ONE_AT_A_TIME, f"paths.output_dir={out}", *extra]
    # each sweep takes well under a minute alone: a stalled resume fails here instead of holding the suite
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)


def test_a_full_disk_is_one_error_line_and_the_sweep_resumes(tmp_path):
    disk = tmp_path / "small"
    if not _mount(disk, "2m"):  # a smoke sweep writes about 3.3 MB: full mid-way
        pytest.skip("cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN)")
    try:
        full = _sweep(disk / "out")
        output = full.stdout + full.stderr
        assert full.returncode == 3, output[-3000:]
        errors = [line for line in full.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "full" in errors[0], full.stderr[-3000:]
        assert "Traceback" not in output
        subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)
        resumed = _sweep(disk / "out", "resume=true")
        assert resumed.returncode == 0, (resumed.stdout + resumed.stderr)[-3000:]

        import mlflow

        mlflow.set_tracking_uri(f"sqlite:///{disk / 'out' / 'mlflow.db'}")
        runs = mlflow.search_runs(experiment_names=["smoke"])
        children = runs[runs["tags.mlflow.parentRunId"].notna()]
        assert len(children) == 12 and set(children["status"]) == {"FINISHED"}
        client = mlflow.MlflowClient()
        for run_id in children["run_id"]:
            steps = [m.step for m in client.get_metric_history(run_id, "val_acc")]
            assert steps == sorted(set(steps))  # every epoch logged once
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
