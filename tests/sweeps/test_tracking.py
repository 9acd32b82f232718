"""How a trial ended, in MLflow's run list: the ``sweep.outcome`` tag and the run status."""

from __future__ import annotations

from mlflow import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

from sweeps.tracking import OUTCOME_TAG, MLflowTracking


def test_each_outcome_has_its_tag_and_status_and_an_interrupted_sweep_kills_the_rest(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    tracking = MLflowTracking(uri, artifact_root=str(tmp_path / "artifacts"))
    parent = tracking.start_sweep("outcomes", tags={})
    client = MlflowClient(uri)
    runs = {
        name: client.create_run(tracking.experiment_id, run_name=name, tags={MLFLOW_PARENT_RUN_ID: parent}).info.run_id
        for name in ("finished", "stopped", "failed", "running")
    }
    for outcome in ("finished", "stopped", "failed"):
        tracking.close_child(runs[outcome], outcome)
    tracking.end_sweep("KILLED")
    seen = {name: client.get_run(run_id) for name, run_id in runs.items()}
    statuses = {name: (run.info.status, run.data.tags.get(OUTCOME_TAG)) for name, run in seen.items()}
    assert statuses == {
        "finished": ("FINISHED", "finished"),
        "stopped": ("KILLED", "stopped"),
        "failed": ("FAILED", "failed"),
        "running": ("KILLED", "interrupted"),  # KILLED too, but not by the scheduler
    }
    # the run list can filter on the tag: scheduler-stopped trials apart from everything else
    stopped = client.search_runs([tracking.experiment_id], filter_string=f"tags.`{OUTCOME_TAG}` = 'stopped'")
    assert [r.info.run_id for r in stopped] == [runs["stopped"]]
