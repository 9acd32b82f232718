"""A real two-node Ray cluster on loopback, a real MLflow server, and `ray job submit`:
the sweep runs as a Ray job (cluster=address), its driver is killed mid-sweep, and the same job
submitted again resumes it (resume=auto) from shared storage without re-running finished trials."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest
from mlflow import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID
from ray.job_submission import JobSubmissionClient

from tests.conftest import ROOT
from tests.servers import BIN, mlflow_server, ray_cluster

pytestmark = pytest.mark.slow
NAME = "cluster-resume"


def _submit(dashboard: str, entrypoint: list[str], submission_id: str) -> None:
    """``ray job submit``; retried while the head's job agent is still starting (Ray answers "No
    available agent to submit job, please try again later" until it is up)."""
    deadline = time.monotonic() + 300
    while True:
        done = subprocess.run(
            [str(BIN / "ray"), "job", "submit", "--address", dashboard, "--submission-id", submission_id,
             "--no-wait", "--", *entrypoint],
            capture_output=True, text=True, timeout=120,
        )
        output = done.stdout + done.stderr
        if done.returncode == 0 or "No available agent" not in output or time.monotonic() > deadline:
            break
        time.sleep(5)
    assert done.returncode == 0, output[-3000:]


def _job_status(dashboard: str, submission_id: str) -> str:
    return str(JobSubmissionClient(dashboard).get_job_status(submission_id).value)


def _children(client: MlflowClient) -> list:
    experiment = client.get_experiment_by_name(NAME)
    if experiment is None:
        return []
    runs = client.search_runs([experiment.experiment_id], max_results=500)
    return [r for r in runs if MLFLOW_PARENT_RUN_ID in r.data.tags]


def _driver_pids() -> list[int]:
    return [
        p.info["pid"] for p in psutil.process_iter(["pid", "cmdline"])
        if any("sweep.py" in part for part in (p.info["cmdline"] or []))
        and f"sweep.name={NAME}" in (p.info["cmdline"] or [])
    ]


def test_sweep_as_ray_job_on_two_nodes_resumes_after_its_driver_is_killed(short_tmp):
    with mlflow_server(short_tmp) as tracking_uri, ray_cluster(short_tmp) as dashboard:
        entrypoint = [
            sys.executable, str(ROOT / "sweep.py"), "+experiment=smoke", "cluster=address",
            "tracking=server", f"tracking.uri={tracking_uri}", f"storage.path={short_tmp}/shared",
            "resume=auto", f"sweep.name={NAME}", "trainer.max_epochs=10", "sweep.max_concurrent=1",
            "sweep.seeds=[0]",
            f"paths.output_dir={short_tmp}/driver", "sweep.verbose=0",
        ]
        client = MlflowClient(tracking_uri)
        _submit(dashboard, entrypoint, "first")
        deadline = time.monotonic() + 400
        while sum(c.info.status == "FINISHED" for c in _children(client)) < 1:
            assert time.monotonic() < deadline, "no trial finished in time"
            time.sleep(0.5)
        for pid in _driver_pids():
            os.kill(pid, signal.SIGKILL)
        finished = {c.data.tags["ray.trial_id"]: c.info.run_id for c in _children(client)
                    if c.info.status == "FINISHED"}
        assert 1 <= len(finished) < 4

        _submit(dashboard, entrypoint, "second")
        deadline = time.monotonic() + 600
        while _job_status(dashboard, "second") not in ("SUCCEEDED", "FAILED", "STOPPED"):
            assert time.monotonic() < deadline, "the resumed job did not finish in time"
            time.sleep(3)
        assert _job_status(dashboard, "second") == "SUCCEEDED"

        children = _children(client)
        assert len(children) == 4 and all(c.info.status == "FINISHED" for c in children)
        parents = [r for r in client.search_runs([client.get_experiment_by_name(NAME).experiment_id])
                   if MLFLOW_PARENT_RUN_ID not in r.data.tags]
        assert len(parents) == 1 and parents[0].info.status == "FINISHED"
        for run_id in finished.values():
            steps = sorted(m.step for m in client.get_metric_history(run_id, "train_loss"))
            assert steps == list(range(1, 11)), "a finished trial ran again"
