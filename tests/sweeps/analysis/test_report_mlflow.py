"""Reports built from real MLflow stores: a hand-made sweep with per-example artifacts, and a real
smoke sweep through Ray (slow) rebuilt by ``python -m sweeps.report``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

from sweeps.analysis import load_sweep, report_sweep
from sweeps.analysis.load import ReportError
from sweeps.report import main as report_main

ROOT = Path(__file__).resolve().parents[3]
REPORT_FILES = [
    "report.md",
    "report.html",
    "verdicts.txt",
    "scores.csv",
    "aggregates.csv",
    "pvalues.csv",
    "pvalues_per_seed.csv",
    "pvalues_tasks.csv",
    "resolution.csv",
    "settings.json",
]
FAST = {"target": "val_acc", "aso": {"n_bootstrap": 20}, "n_permutations": 200}


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.fixture(scope="module")
def handmade(tmp_path_factory) -> tuple[str, str]:
    """A sweep written like sweeps/tracking.py does, with per-example artifacts."""
    root = tmp_path_factory.mktemp("store")
    uri = f"sqlite:///{root}/mlflow.db"
    client = MlflowClient(uri)
    experiment = client.create_experiment("handmade", artifact_location=(root / "art").as_uri())
    parent = client.create_run(experiment, tags={"sweep.name": "handmade"}).info.run_id
    client.log_text(parent, "sweep:\n  metric: val_acc\n  mode: max\n", "config.yaml")
    rng = np.random.default_rng(0)
    target = rng.normal(size=120)
    for design, noise in (("pool=cls", 1.5), ("pool=mean", 0.3)):
        for seed in (0, 1):
            run = client.create_run(
                experiment, tags={MLFLOW_PARENT_RUN_ID: parent, "design": design, "seed": str(seed)}
            ).info.run_id
            prediction = target + rng.normal(0, noise, 120)
            correct = (rng.random(120) < (0.9 if noise < 1 else 0.6)).astype(float)
            folder = root / "tmp" / run / "per_example"
            folder.mkdir(parents=True)
            pd.DataFrame(
                {"example_id": range(120), "prediction": prediction, "target": target}
            ).to_csv(folder / "sts__stsb__spearman.csv", index=False)
            pd.DataFrame({"example_id": range(120), "score": correct}).to_csv(
                folder / "classification__x__accuracy.csv", index=False
            )
            index = {
                "sts/stsb/spearman": {
                    "file": "sts__stsb__spearman.csv",
                    "statistic": "spearman",
                },
                "classification/x/accuracy": {
                    "file": "classification__x__accuracy.csv",
                    "statistic": "mean",
                },
            }
            (folder / "index.json").write_text(json.dumps(index))
            client.log_artifacts(run, str(folder), "per_example")
            client.log_param(run, "pool", design.split("=")[1])
            client.log_metric(run, "val_acc", 0.5, step=0)
            client.log_metric(
                run, "val_acc", float(correct.mean()), step=1
            )  # the last value is final
            client.log_metric(run, "classification/x/accuracy", float(correct.mean()))
            from scipy import stats

            client.log_metric(
                run, "sts/stsb/spearman", float(stats.spearmanr(prediction, target).statistic)
            )
            client.set_terminated(run, "FINISHED")
    client.set_terminated(parent, "FINISHED")
    return uri, parent


def test_load_and_per_example_report(handmade, tmp_path):
    uri, parent = handmade
    data = load_sweep(uri, "handmade")
    assert data.parent_run_id == parent and len(data.runs) == 4
    assert len(data.per_example) == 8 and data.config["sweep"]["metric"] == "val_acc"
    text = report_sweep(uri, "handmade", None, FAST, tmp_path / "r", log=True)
    assert "per-example" in text
    assert "pool=mean" in text.split("best: ")[1].splitlines()[0]
    per_seed = pd.read_csv(tmp_path / "r" / "pvalues_per_seed.csv")
    assert (
        set(per_seed["statistic"]) == {"spearman", "mean"} and len(per_seed) == 4
    )  # 2 metrics × 1 pair × 2 seeds
    pairs = pd.read_csv(tmp_path / "r" / "pvalues.csv").set_index("metric")
    assert pairs.loc["sts/stsb/spearman", "p_per_example_holm"] < 0.05
    logged = {a.path for a in MlflowClient(uri).list_artifacts(parent, "report")}
    assert {f"report/{name}" for name in REPORT_FILES} <= logged


def test_set_overrides_the_logged_analysis_and_a_bad_one_exits_2(handmade, tmp_path):
    uri, _ = handmade
    report_sweep(uri, "handmade", None, None, tmp_path / "r", log=False, overrides=["n_permutations=99"])
    resolution = pd.read_csv(tmp_path / "r" / "resolution.csv")
    per_example = resolution[(resolution["test"] == "per_example") & (resolution["scope"] == "sts/stsb/spearman")]
    assert set(per_example["n"]) == {99}
    proc = subprocess.run(
        [sys.executable, "-m", "sweeps.report", "--experiment", "handmade", "--tracking-uri", uri,
         "--out", str(tmp_path / "cli"), "--set", "aso.enabled=maybe"],
        capture_output=True, text=True, env=_env(), timeout=300,
    )
    assert proc.returncode == 2 and proc.stderr.startswith("error: --set 'aso.enabled=maybe'")
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "cli").exists()


def test_unknown_experiment_and_parent(handmade):
    uri, _ = handmade
    with pytest.raises(ReportError, match="unknown MLflow experiment"):
        load_sweep(uri, "nope")
    with pytest.raises(ReportError, match="unknown parent run"):
        load_sweep(uri, "handmade", "0" * 32)


def test_a_sweep_with_no_finished_run_is_refused(handmade, tmp_path):
    uri, _ = handmade
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("handmade").experiment_id
    parent = client.create_run(experiment, tags={"sweep.name": "handmade"}).info.run_id
    child = client.create_run(
        experiment, tags={MLFLOW_PARENT_RUN_ID: parent, "design": "pool=cls", "seed": "0"}
    ).info.run_id
    client.set_terminated(child, "FAILED")
    with pytest.raises(ReportError, match="no finished child run"):
        report_sweep(uri, "handmade", parent, FAST, tmp_path / "r", log=False)
    proc = subprocess.run(
        [sys.executable, "-m", "sweeps.report", "--experiment", "handmade", "--parent", parent,
         "--tracking-uri", uri, "--out", str(tmp_path / "cli")],
        capture_output=True, text=True, env=_env(), timeout=300,
    )
    assert proc.returncode == 2 and proc.stderr.strip().startswith("error:"), proc.stderr[-2000:]


# -- a real smoke sweep through Ray (tests/conftest.py's smoke_sweep, shared with tests/e2e) ---------------------------------------------------------------
@pytest.mark.slow
def test_sweep_ends_with_verdicts_and_report(smoke_sweep):
    out, proc = smoke_sweep.out, smoke_sweep.result
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Verdicts for sweep 'smoke'" in proc.stdout and "== metric val_acc" in proc.stdout
    client = MlflowClient(f"sqlite:///{out}/mlflow.db")
    data = load_sweep(f"sqlite:///{out}/mlflow.db", "smoke")
    assert len(data.runs) == 12 and data.config["analysis"]["target"] == "val_acc"
    logged = {a.path for a in client.list_artifacts(data.parent_run_id, "report")}
    assert {f"report/{name}" for name in REPORT_FILES} <= logged
    plots = {a.path for a in client.list_artifacts(data.parent_run_id, "report/plots")}
    assert {"report/plots/scores_val_acc.png", "report/plots/pvalues_val_acc.png"} <= plots


@pytest.mark.slow
def test_report_cli_round_trip(smoke_sweep, tmp_path, capsys):
    out = smoke_sweep.out
    uri = f"sqlite:///{out}/mlflow.db"
    cli = [sys.executable, "-m", "sweeps.report", "--tracking-uri", uri]
    done = subprocess.run(
        [*cli, "--experiment", "smoke", "--out", str(tmp_path / "r")],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Verdicts for sweep 'smoke'" in done.stdout and "best: " in done.stdout
    for name in REPORT_FILES:
        assert (tmp_path / "r" / name).is_file()
    scores = pd.read_csv(tmp_path / "r" / "scores.csv")
    assert len(scores) == 12 and {"design", "seed", "status", "val_acc"} <= set(scores.columns)
    # the same verdicts as at the end of the sweep (same data, fixed seeds)
    logged = MlflowClient(uri).download_artifacts(
        load_sweep(uri, "smoke").parent_run_id, "report/verdicts.txt", str(tmp_path)
    )
    assert Path(logged).read_text() == (tmp_path / "r" / "verdicts.txt").read_text()
    # refusals need no process of their own: the command's exit code is checked above and in
    # test_a_sweep_with_no_finished_run_is_refused
    for args, message in (
        (["--experiment", "nope"], "unknown MLflow experiment 'nope'"),
        (["--experiment", "smoke", "--parent", "f" * 32], "unknown parent run"),
    ):
        capsys.readouterr()
        code = report_main(["--tracking-uri", uri, *args, "--out", str(tmp_path / "x")])
        out, err = capsys.readouterr()
        assert code == 2 and out == ""
        assert err.strip().startswith("error: ") and message in err
        assert len(err.strip().splitlines()) == 1
