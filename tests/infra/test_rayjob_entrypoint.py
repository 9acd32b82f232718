"""The RayJob's entrypoint is a real sweep command: parsed like a shell would, then composed."""

from __future__ import annotations

import shlex

from sweeps.cli import plan_sweep, split_overrides
from tests.infra.conftest import needs_kubectl, one

pytestmark = needs_kubectl

STORAGE_MOUNT = "/mnt/sweeps"


def _entrypoint_args() -> list[str]:
    argv = shlex.split(one("RayJob")["spec"]["entrypoint"])
    assert argv[:2] == ["python", "sweep.py"], argv
    return argv[2:]


def _overrides() -> dict[str, str]:
    return dict(arg.split("=", 1) for arg in _entrypoint_args())


def test_entrypoint_runs_the_study_on_the_cluster_with_shared_state():
    overrides = _overrides()
    assert overrides["+experiment"] == "pooling_grid"
    assert overrides["cluster"] == "address"
    assert overrides["tracking"] == "server"
    assert overrides["tracking.uri"] == "http://mlflow:5000"
    assert overrides["storage.path"] == STORAGE_MOUNT
    # a retried job resumes from shared storage; the first attempt starts the sweep
    assert overrides["resume"] == "auto"


def test_entrypoint_points_at_the_in_cluster_mlflow_service():
    service = one("Service", "mlflow")
    host_port = _overrides()["tracking.uri"].removeprefix("http://")
    assert host_port == f"{service['metadata']['name']}:{service['spec']['ports'][0]['port']}"


def test_entrypoint_storage_is_the_shared_volume_of_the_job_cluster():
    cluster = one("RayJob")["spec"]["rayClusterSpec"]
    head = cluster["headGroupSpec"]["template"]["spec"]
    mounts = {m["mountPath"] for c in head["containers"] for m in c.get("volumeMounts", [])}
    assert _overrides()["storage.path"] in mounts  # the driver (on the head) writes Ray state here


def test_entrypoint_is_valid_hydra_override_syntax_without_sweeps():
    plain, space = split_overrides(_entrypoint_args())
    assert plain == _entrypoint_args()
    assert space == {}  # nothing in the command line is accidentally a sweep expression


def test_entrypoint_composes_into_a_sweep_plan(tmp_path):
    plan = plan_sweep([*_entrypoint_args(), f"paths.output_dir={tmp_path}"])
    cfg = plan.cfg
    assert cfg.sweep.name
    assert str(cfg.storage.path) == STORAGE_MOUNT
    assert str(cfg.resume) == "auto"
    assert str(cfg.tracking.uri) == "http://mlflow:5000"
