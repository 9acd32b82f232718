"""How a trial ended, in MLflow's run list: the ``sweep.outcome`` tag and the run status."""

from __future__ import annotations

from mlflow import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID
from ray.tune.experiment import Trial

from modules.contract.keys import FINAL_KEY, TRIAL_ID_TAG
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


def _terminated(lr: str, result: dict) -> Trial:
    trial = Trial("run_trial", config={"optim.lr": lr, "seed": 0}, stub=True)
    trial.set_status(Trial.TERMINATED)
    trial.run_metadata.last_result = result
    return trial


def test_a_trial_finished_before_its_driver_was_killed_is_closed_by_the_resumed_sweep(tmp_path):
    """Tune's saved state can hold a trial as finished while its child run is still RUNNING (the
    driver was killed before MLflow took the write); the resumed sweep does not run it again."""
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    tracking = MLflowTracking(uri, artifact_root=str(tmp_path / "artifacts"))
    tracking.start_sweep("resumed", tags={})
    earlier = _terminated("0.1", {FINAL_KEY: 1.0, "val_acc": 0.9})  # finished under the killed driver
    stopped = _terminated("0.2", {"val_acc": 0.5})  # ended without its final report
    now = _terminated("0.3", {FINAL_KEY: 1.0, "val_acc": 0.8})  # finished under this driver
    for trial in (earlier, stopped, now):
        tracking.on_trial_start(0, [], trial)
    tracking.on_trial_complete(0, [], now)
    tracking.flush()
    tracking.on_experiment_end(trials=[earlier, stopped, now])
    tracking.end_sweep("FINISHED")
    client = MlflowClient(uri)
    outcome = {}
    for run in client.search_runs([tracking.experiment_id]):
        if run.info.run_id != tracking.parent_run_id:
            outcome[run.data.tags[TRIAL_ID_TAG]] = (run.info.status, run.data.tags.get(OUTCOME_TAG))
    assert outcome == {earlier.trial_id: ("FINISHED", "finished"), now.trial_id: ("FINISHED", "finished"),
                       stopped.trial_id: ("KILLED", "interrupted")}
