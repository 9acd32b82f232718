"""The flagship study at tiny scale, end to end: real SmolLM2, real STS-B / 20 Newsgroups, Ray Tune,
MLflow; every design has all four task scores, per-example scores and a loadable export. One
trial at a time, so the second reuses the first one's Ray actor (its files must still arrive)."""

from __future__ import annotations

import numpy as np
import pytest
from mlflow import MlflowClient

from tests.conftest import ROOT, run_sweep_cli
from tests.e2e.mlflow_store import store_uri, sweep_runs

pytestmark = pytest.mark.slow
TINY = [
    "+experiment=pooling_grid", "sweep.seeds=[0]", "trainer.max_epochs=1", "sweep.max_concurrent=1",
    "sweep.space.design='choice(mean_causal,multilayer_bidirectional)'",
    "data.train_limit=48", "data.dev_limit=8", "data.dev_pairs=24", "backbone.max_length=24",
    "evaluation.sts_pairs=48", "evaluation.retrieval_queries=12", "evaluation.classification_train=40",
    "evaluation.classification_test=20", "evaluation.clustering_docs=40", "evaluation.max_chars=120",
    # SmolLM2 converted once per checkout (as the embedding unit tests and `make sweep` do), not per run
    f"backbone.source.cache_dir={ROOT / 'outputs' / 'cache' / 'backbones'}",
]
TASK_SCORES = {"sts/stsb/spearman", "retrieval/stsb/ndcg_at_10", "classification/20ng/accuracy",
               "clustering/20ng/v_measure"}


def test_tiny_pooling_grid_logs_four_task_scores_and_a_loadable_export(short_tmp):
    result = run_sweep_cli(*TINY, f"paths.output_dir={short_tmp}", timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Verdicts for sweep 'pooling_grid'" in result.stdout

    parents, children = sweep_runs(short_tmp, "pooling_grid")
    assert len(children) == 2
    assert {c.data.params["design"] for c in children} == {"mean_causal", "multilayer_bidirectional"}
    client = MlflowClient(store_uri(short_tmp))
    for child in children:
        assert child.info.status == "FINISHED"
        assert set(child.data.metrics) >= TASK_SCORES
        artifacts = {a.path for a in client.list_artifacts(child.info.run_id)}
        assert {"per_example", "sentence_transformer"} <= artifacts
    report = {a.path for a in client.list_artifacts(parents[0].info.run_id, "report")}
    assert "report/report.md" in report

    from sentence_transformers import SentenceTransformer

    child = children[0]
    folder = client.download_artifacts(child.info.run_id, "sentence_transformer", str(short_tmp / "dl"))
    model = SentenceTransformer(folder, device="cpu", trust_remote_code=True)
    vectors = model.encode(["a man is playing a guitar", "a woman is slicing an onion"])
    assert vectors.shape[0] == 2 and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
