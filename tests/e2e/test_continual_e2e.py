"""End-to-end: cl_baselines shrunk to the minimum through the real CLI (one seed, NMC against
frozen-backbone SLCA, a tiny text scenario with a hashed bag-of-words encoder), one trial failing
once mid-sequence; per-task metrics, the plot and the report read back from MLflow."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow import MlflowClient

from tests.conftest import ONE_AT_A_TIME, run_sweep_cli
from tests.e2e.mlflow_store import metric_steps, store_uri, sweep_runs

pytestmark = pytest.mark.slow
NG = "scenarios.split_20ng"


def test_cl_baselines_reports_every_task_live_and_resumes(short_tmp):
    marker = short_tmp / "failed-once"
    result = run_sweep_cli(
        "+experiment=cl_baselines",
        f"paths.output_dir={short_tmp}",
        "sweep.seeds=[0]",
        ONE_AT_A_TIME,
        "sweep.space.method='choice(nmc,slca_frozen)'",
        "analysis.baseline='method=slca_frozen'",
        "analysis.aso.enabled=false",
        "analysis.n_permutations=200",
        "~scenarios.split_mnist",
        f"{NG}.encoder._target_=modules.continual.features.hashed_words_encoder",
        f"{NG}.encoder_name=hashed",
        f"{NG}.data.train_per_class=8",
        f"{NG}.data.test_per_class=4",
        f"{NG}.data.classes_per_task=4",
        "+callbacks.fail._target_=modules.callbacks.fault_injection.FailOnce",
        "+callbacks.fail.epoch=2",
        f"+callbacks.fail.marker={marker}",
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert marker.exists(), "the injected failure happened"
    parents, children = sweep_runs(short_tmp, "cl_baselines")
    assert len(parents) == 1 and len(children) == 2
    client = MlflowClient(store_uri(short_tmp))
    for child in children:
        assert child.info.status == "FINISHED"
        run_id = child.info.run_id
        # one report per task (5 tasks of 4 classes), each exactly once, also after the retry;
        # the summary metrics once more in the trial's final report
        assert metric_steps(short_tmp, run_id, "cl/split_20ng/acc/task_0") == [1, 2, 3, 4, 5]
        assert metric_steps(short_tmp, run_id, "cl/split_20ng/acc/task_4") == [5]
        history = client.get_metric_history(run_id, "cl/split_20ng/acc")
        values = {m.step: m.value for m in history}
        assert sorted(values) == [1, 2, 3, 4, 5, 6]
        assert values[6] == pytest.approx(values[5], abs=1e-6)  # Lightning logs float32
        assert 0.0 <= child.data.metrics["cl/split_20ng/acc"] <= 1.0
        artifacts = {a.path for a in client.list_artifacts(run_id)}
        assert {"accuracy_over_tasks_split_20ng.png", "accuracy_matrix_split_20ng.csv"} <= artifacts
    report = {a.path for a in client.list_artifacts(parents[0].info.run_id, "report")}
    assert "report/verdicts.txt" in report
    verdicts = client.download_artifacts(
        parents[0].info.run_id, "report/verdicts.txt", str(short_tmp)
    )
    text = Path(verdicts).read_text()
    assert "cl/split_20ng/acc" in text and "method=slca_frozen" in text
