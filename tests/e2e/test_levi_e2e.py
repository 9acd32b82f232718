"""The LEVI preset shrunk to the minimum, through the real CLI (Ray Tune, MLflow, the report):
full fine-tuning (the report's baseline) and LEVI on the real MiniLM, a few documents, one seed."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow import MlflowClient

from tests.conftest import ONE_AT_A_TIME, run_sweep_cli
from tests.e2e.mlflow_store import store_uri, sweep_runs

pytestmark = pytest.mark.slow
TINY = [
    "+experiment=levi_ood", "sweep.seeds=[0]", "sweep.space.levi='choice(full_ft,levi)'",
    "levi.max_epochs=1", "backbone.max_length=16", "data.train_per_group=4",
    "data.val_per_group=1", "data.test_per_group=3", "data.max_words=16", ONE_AT_A_TIME,
]  # fmt: skip


def test_tiny_levi_ood_logs_id_ood_accuracy_and_gap(short_tmp):
    result = run_sweep_cli(*TINY, f"paths.output_dir={short_tmp}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Verdicts for sweep 'levi_ood'" in result.stdout

    parents, children = sweep_runs(short_tmp, "levi_ood")
    assert {c.data.params["levi"] for c in children} == {"full_ft", "levi"}
    client = MlflowClient(store_uri(short_tmp))
    for child in children:
        assert child.info.status == "FINISHED"
        m = child.data.metrics
        assert {"id/acc", "ood/acc", "gap", "val/id_acc"} <= set(m)
        assert 0.0 <= m["ood/acc"] <= 1.0 and m["gap"] == pytest.approx(m["id/acc"] - m["ood/acc"])
        paths = {a.path for a in client.list_artifacts(child.info.run_id, "per_example")}
        assert {"per_example/ood__acc.csv", "per_example/index.json"} <= paths
    report = client.download_artifacts(parents[0].info.run_id, "report/report.md", str(short_tmp))
    text = Path(report).read_text(encoding="utf-8")
    assert "levi=full_ft" in text and "ood/acc" in text
