"""End to end in a real browser: a real ``mlflow server`` on 127.0.0.1, a small sweep logged to it,
the experiment's runs page and the compare view of its child runs in headless Chromium.

Needs Debian's ``chromium`` (``infra/install_browser.sh``) and Playwright's Python package (the
``dev`` extra); it never downloads a browser. Screenshots go to ``tests/artifacts/mlflow_ui/``.
A missing browser fails the test with the command that installs it: it is never skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
from pathlib import Path

import pytest
from mlflow import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

from tests.browser import launch
from tests.conftest import ONE_AT_A_TIME
from tests.servers import mlflow_server

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / "tests" / "artifacts" / "mlflow_ui"
DESIGNS = [
    "model.hidden=16,optim.lr=0.001",
    "model.hidden=16,optim.lr=0.01",
    "model.hidden=64,optim.lr=0.001",
    "model.hidden=64,optim.lr=0.01",
]
NAMES = ["16 · 0.001 · s0", "16 · 0.01 · s0", "64 · 0.001 · s0", "64 · 0.01 · s0"]


@pytest.fixture(scope="module")
def server_sweep():
    """A fresh MLflow server (sqlite store and artifacts in tmp) and a 4-trial smoke sweep on it."""
    tmp = Path(tempfile.mkdtemp(dir="/tmp", prefix="ui"))
    try:
        with mlflow_server(tmp) as url:
            sweep = subprocess.run(
                [sys.executable, "sweep.py", "+experiment=smoke", "tracking=server", f"tracking.uri={url}",
                 f"paths.output_dir={tmp}/o", "sweep.seeds=[0]", "trainer.max_epochs=2", "sweep.verbose=0", ONE_AT_A_TIME],
                cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                timeout=600,
            )
            assert sweep.returncode == 0, sweep.stderr[-3000:]
            yield url, sweep
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.slow
def test_runs_page_and_compare_view(server_sweep):
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        pytest.fail("Playwright's Python package is missing: pip install -e '.[dev]'")
    url, sweep = server_sweep
    sweep_output = sweep.stdout
    client = MlflowClient(url)
    experiment = client.get_experiment_by_name("smoke")
    runs = client.search_runs([experiment.experiment_id])
    children = [r for r in runs if MLFLOW_PARENT_RUN_ID in r.data.tags]
    parent = next(r for r in runs if MLFLOW_PARENT_RUN_ID not in r.data.tags)
    assert len(children) == 4
    # the child runs line up in the compare view: the whole trial config as params (so "show diff
    # only" finds any setting that differs), final metrics, design/seed/sweep-run tags
    assert experiment.tags.get("mlflow.experimentKind") == "custom_model_development"
    for run in children:
        assert {"model.hidden", "optim.lr", "trainer.max_epochs"} <= set(run.data.params)
        assert "seed" not in run.data.params and run.data.tags["seed"] == "0"
        assert {"val_acc", "val_loss"} <= set(run.data.metrics)
        assert run.data.tags["design"] in DESIGNS and run.data.tags["sweep.run"] == parent.info.run_id
    assert sorted(r.info.run_name for r in children) == NAMES
    # the parent run is the answer: what was compared, the verdict, the best design's numbers
    assert parent.info.run_name.startswith("smoke: optim.lr × model.hidden × 1 seed · ")
    assert "Which design is best on `val_acc`?" in parent.data.tags["mlflow.note.content"]
    assert {"best/val_acc", "trials_finished", "sweep_wall_s"} <= set(parent.data.metrics)
    assert parent.data.metrics["trials_finished"] == 4
    assert parent.data.params["trainer.max_epochs"] == "2"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.set_default_timeout(60_000)

        # the experiment's runs page: the parent run, expanded to show its child runs
        page.goto(f"{url}/#/experiments/{experiment.experiment_id}/runs")
        expect(page.get_by_text("5 matching runs")).to_be_visible()
        expect(page.get_by_text(parent.info.run_name, exact=True)).to_be_visible()
        page.locator('[row-index="0"] [aria-colindex="2"] button').first.click()
        for name in NAMES:
            expect(page.get_by_text(name, exact=True)).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "runs_page.png"))

        # the compare view of the child runs: run names, params, metrics, parallel coordinates
        query = urllib.parse.urlencode(
            {
                "runs": json.dumps([r.info.run_id for r in children]),
                "experiments": json.dumps([experiment.experiment_id]),
            }
        )
        page.set_viewport_size({"width": 1600, "height": 2000})
        page.goto(f"{url}/#/compare-runs?{query}")
        expect(page.get_by_text("Comparing 4 Runs from 1 Experiment")).to_be_visible()
        expect(page.get_by_text("Parallel Coordinates Plot")).to_be_visible()
        body = page.inner_text("body")
        for text in [
            *NAMES,
            "model.hidden",
            "optim.lr",
            "val_acc",
            "val_loss",
            "design",
            "ray.trial_id",
        ]:
            assert text in body, f"{text!r} is not on the compare page"
        for run in children:
            assert f"{run.data.metrics['val_acc']:.3g}"[:4] in body
        page.screenshot(path=str(ARTIFACTS / "compare_view.png"), full_page=True)

        # the parent run's page answers the question: its description holds the verdict; the link
        # the sweep prints opens it in the model-training view (no GenAI-only "Judges" entry)
        page.set_viewport_size({"width": 1600, "height": 1400})
        page.goto(
            f"{url}/#/experiments/{experiment.experiment_id}/runs/{parent.info.run_id}"
            "?workflowType=machine_learning"
        )
        expect(page.get_by_text("Which design is best on", exact=False).first).to_be_visible()
        body = page.inner_text("body")
        assert "best/val_acc" in body and "not significantly worse than best" in body
        assert "Judges" not in body, "the page opened in MLflow's GenAI view"
        assert f"/runs/{parent.info.run_id}?workflowType=machine_learning" in sweep_output
        page.screenshot(path=str(ARTIFACTS / "parent_run.png"), full_page=True)

        # the significance report on the parent run
        page.set_viewport_size({"width": 1600, "height": 1000})
        page.goto(
            f"{url}/#/experiments/{experiment.experiment_id}/runs/{parent.info.run_id}"
            "/artifacts/report/verdicts.txt"
        )
        expect(page.get_by_text("Verdicts for sweep 'smoke'", exact=False).first).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "parent_report.png"))
        browser.close()
