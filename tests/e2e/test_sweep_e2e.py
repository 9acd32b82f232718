"""End-to-end: real sweeps through Ray Tune, read back from the real MLflow store."""

from __future__ import annotations

from itertools import pairwise

import pytest
from mlflow import MlflowClient

from sweeps.analysis import load_sweep, settings_for
from sweeps.analysis.analyze import analyze
from tests.conftest import ONE_AT_A_TIME, run_sweep_cli
from tests.e2e.mlflow_store import metric_steps, store_uri, sweep_runs

pytestmark = pytest.mark.slow
SMALL = ["+experiment=smoke", "trainer.max_epochs=3"]


def test_smoke_sweep_logs_parent_and_one_child_per_trial(smoke_sweep):
    short_tmp, result = smoke_sweep.out, smoke_sweep.result
    assert result.returncode == 0, result.stderr[-3000:]
    hint = f"mlflow ui --backend-store-uri {store_uri(short_tmp)}"
    assert result.stdout.count(hint) == 2, "the MLflow command is printed at start and end"
    assert "Summary of val_acc per design" in result.stdout

    parents, children = sweep_runs(short_tmp, "smoke")
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    parent = parents[0]
    assert parent.data.tags["git.commit"]
    assert parent.data.tags["version.ray"].startswith("2.60")
    artifacts = {a.path for a in MlflowClient(store_uri(short_tmp)).list_artifacts(parent.info.run_id)}
    assert {"config.yaml", "command.txt", "summary.csv", "trials.csv"} <= artifacts

    assert len(children) == 12  # 2 learning rates × 2 widths × 3 seeds
    designs = {(c.data.tags["design"], c.data.tags["seed"]) for c in children}
    assert len(designs) == 12
    for child in children:
        assert child.info.status == "FINISHED"
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert {"optim.lr", "model.hidden", "trainer.max_epochs"} <= set(child.data.params)
        assert "seed" not in child.data.params
        assert child.data.params["optim.lr"] in {"0.01", "0.001"}
        assert 0.0 <= child.data.metrics["val_acc"] <= 1.0
        # one trial failed once at epoch 1 and resumed from its checkpoint: still one child run
        # per trial, and every epoch reported exactly once, none twice
        assert metric_steps(short_tmp, child.info.run_id, "train_loss") == [1, 2, 3]
        child_artifacts = MlflowClient(store_uri(short_tmp)).list_artifacts(child.info.run_id)
        assert {"config.yaml", "per_example"} <= {a.path for a in child_artifacts}
    assert smoke_sweep.marker.exists(), "the injected failure happened"
    trial_dirs = list((short_tmp / "ray" / "smoke").glob("run_trial_*"))
    assert len(trial_dirs) == 12
    for folder in trial_dirs:  # Tune's own files; TensorBoard's only under sweep.tensorboard=true
        assert (folder / "result.json").is_file() and (folder / "progress.csv").is_file()
        assert not list(folder.glob("events.out.tfevents*"))


def test_the_smoke_template_finds_its_real_difference(smoke_sweep):
    """The best and the worst design differ a lot; with per-example scores the report says so."""
    out, result = smoke_sweep.out, smoke_sweep.result
    assert result.returncode == 0, result.stderr[-3000:]
    data = load_sweep(store_uri(out), "smoke")
    analysis = analyze(data, settings_for(data))
    [verdict] = [v for v in analysis.verdicts if v.name == "val_acc"]
    assert "per-example" in verdict.test
    worst = min(verdict.score, key=verdict.score.get)
    pair = analysis.pairs[analysis.pairs[["design_a", "design_b"]].isin([verdict.best, worst]).all(axis=1)]
    assert pair["p_per_example_holm"].iloc[0] < 0.05
    assert worst not in verdict.not_worse


def test_a_trial_that_keeps_failing_is_recorded_failed_and_the_rest_finish(short_tmp):
    result = run_sweep_cli(
        *SMALL, f"paths.output_dir={short_tmp}", "sweep.seeds=[0]", "sweep.space.model.hidden='choice(32)'",
        "sweep.space.optim.lr='choice(0.01)'",
        "+callbacks.fail._target_=modules.callbacks.fault_injection.FailAlways", "+callbacks.fail.epoch=99",
        "sweep.space.callbacks.fail.epoch='choice(1,99)'", "sweep.max_failures=1",
    )
    assert result.returncode == 1, result.stderr[-3000:]
    _, children = sweep_runs(short_tmp, "smoke")
    assert len(children) == 2  # fails, never fails
    by_status = {}
    for child in children:
        by_status.setdefault(child.info.status, []).append(child)
    assert len(by_status["FAILED"]) == 1 and len(by_status["FINISHED"]) == 1
    for failed in by_status["FAILED"]:
        assert failed.data.params["callbacks.fail.epoch"] == "1"
        assert "injected permanent failure" in failed.data.tags["error"]
        assert failed.data.tags["sweep.outcome"] == "failed"


def test_asha_stopped_trials_are_recorded_killed(short_tmp):
    result = run_sweep_cli(
        "+experiment=smoke", "scheduler=asha", "trainer.max_epochs=8", "sweep.seeds=[0]",
        "sweep.space.optim.lr='choice(0.03,0.0001)'", "sweep.space.model.hidden='choice(4,64)'",
        "sweep.max_concurrent=1", f"paths.output_dir={short_tmp}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    _, children = sweep_runs(short_tmp, "smoke")
    statuses = sorted(c.info.status for c in children)
    assert "KILLED" in statuses and "FINISHED" in statuses, statuses
    spans = sorted((c.info.start_time, c.info.end_time) for c in children)
    assert all(end <= next_start for (_, end), (next_start, _) in pairwise(spans)), \
        "sweep.max_concurrent=1 ran trials at the same time"
    for child in children:
        assert child.data.tags["sweep.outcome"] == {"KILLED": "stopped", "FINISHED": "finished"}[child.info.status]
        if child.info.status == "KILLED":
            assert child.data.tags["stopped_by"] == "scheduler"
            assert len(metric_steps(short_tmp, child.info.run_id, "train_loss")) < 8


def test_a_random_search_report_says_what_it_did_with_the_samples(short_tmp):
    """Every sampled learning rate is its own design with one seed: the report names the search and
    ranks the configurations instead of a table of n/a."""
    result = run_sweep_cli(
        "+experiment=smoke", "trainer.max_epochs=1", "sweep.seeds=[0]", "sweep.search=random",
        "sweep.space.optim.lr='tag(log, interval(1e-4,1e-1))'", "sweep.num_samples=4",
        "sweep.tensorboard=true", ONE_AT_A_TIME, f"paths.output_dir={short_tmp}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    trial_dirs = list((short_tmp / "ray" / "smoke").glob("run_trial_*"))
    assert len(trial_dirs) == 4 and all(list(d.glob("events.out.tfevents*")) for d in trial_dirs)
    assert "sampled search (sweep.search=random, interval axes: optim.lr): 4 designs" in result.stdout
    data = load_sweep(store_uri(short_tmp), "smoke")
    assert data.space["optim.lr"] == "tag(log, interval(1e-4,1e-1))"
    sampled = analyze(data, settings_for(data)).sampled
    assert len(sampled.top) == 4 and sampled.top["mean"].is_monotonic_decreasing
    assert set(sampled.importance["key"]) == {"model.hidden", "optim.lr"}
    lr = sampled.importance.set_index("key").loc["optim.lr"]
    assert lr["test"] == "Spearman rho" and -1 <= lr["statistic"] <= 1


def test_a_metric_the_task_does_not_report_stops_the_sweep_at_the_first_final_report(short_tmp):
    result = run_sweep_cli(
        "+experiment=smoke", "trainer.max_epochs=1", "sweep.seeds=[0]", "sweep.max_concurrent=1",
        "sweep.space.optim.lr='choice(0.01)'", "sweep.space.model.hidden='choice(16,32)'",
        "sweep.metric=val_accc", f"paths.output_dir={short_tmp}",
    )
    assert result.returncode == 2, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [result.stderr.strip().splitlines()[-1]] and "Traceback" not in result.stderr
    assert "sweep.metric 'val_accc' is not reported" in errors[0]
    assert errors[0].endswith("the task reports: val_acc, val_loss")
    parents, children = sweep_runs(short_tmp, "smoke")
    assert [p.info.status for p in parents] == ["FAILED"], "the parent run is closed"
    assert len(children) == 1, "the second trial never started"
    assert children[0].data.metrics["val_acc"] > 0.1, "what the trial reported is recorded"
