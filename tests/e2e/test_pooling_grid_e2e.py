"""The flagship study at tiny scale, end to end: real SmolLM2, real STS-B / 20 Newsgroups / Lee,
Ray Tune, MLflow; every design has all five task scores and the untrained references, per-example
scores and a loadable export; the preset's sanity contract is evaluated on the sweep (its STS-B
checks pass: training on STS-B must beat the untrained references there) and is violated when the
trained scores are replaced by worse ones. Whether the held-out check passes is a finding of the
full-size study (bench/README.md), not something a shrunk run can decide. One trial at a time, so
the second reuses the first one's Ray actor (its files must still arrive)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from sweeps.analysis.sanity import OK, SKIPPED, VIOLATED, check_contract
from sweeps.config import compose_config
from tests.conftest import ROOT, run_sweep_cli
from tests.e2e.mlflow_store import store_uri, sweep_runs

pytestmark = pytest.mark.slow
SHRUNK = [
    "+experiment=pooling_grid", "sweep.seeds=[0]", "trainer.max_epochs=3", "sweep.max_concurrent=1",
    "sweep.space.design='choice(mean_causal,latent_causal)'", "~sweep.space.pooling",
    "pooling.normalize=zscore", "data.train_limit=160", "data.dev_limit=8", "data.dev_pairs=24",
    "evaluation.sts_pairs=200", "evaluation.retrieval_queries=12", "evaluation.retrieval_corpus=120",
    "evaluation.classification_train=40", "evaluation.classification_test=20",
    "evaluation.clustering_docs=40", "evaluation.max_chars=120",
    # the feature cache's tokens are most of this test's time: 32 keep most STS-B sentences whole
    # and cut the Lee documents (whose held-out check is the full-size study's finding)
    "backbone.max_length=32",
    # SmolLM2 converted once per checkout (as the embedding unit tests and `make sweep` do), not per run
    f"backbone.source.cache_dir={ROOT / 'outputs' / 'cache' / 'backbones'}",
]
TASK_SCORES = {"sts/stsb/spearman", "retrieval/stsb/ndcg_at_10", "classification/20ng/accuracy",
               "clustering/20ng/v_measure", "heldout/lee/spearman"}


def test_shrunk_pooling_grid_reports_scores_passes_its_contract_and_exports(short_tmp):
    result = run_sweep_cli(*SHRUNK, f"paths.output_dir={short_tmp}", timeout=1500)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Verdicts for sweep 'pooling_grid'" in result.stdout

    parents, children = sweep_runs(short_tmp, "pooling_grid")
    assert len(children) == 2
    assert {c.data.params["design"] for c in children} == {"mean_causal", "latent_causal"}
    client = MlflowClient(store_uri(short_tmp))
    contract = compose_config(SHRUNK[:1]).analysis.sanity
    needed = TASK_SCORES | {str(e.metric) for e in contract} | {str(e.than) for e in contract}
    for child in children:
        assert child.info.status == "FINISHED"
        assert set(child.data.metrics) >= needed
        artifacts = {a.path for a in client.list_artifacts(child.info.run_id)}
        assert {"per_example", "sentence_transformer"} <= artifacts
    report = {a.path for a in client.list_artifacts(parents[0].info.run_id, "report")}
    assert "report/report.md" in report
    assert parents[0].data.tags.get("sanity") in {"ok", "violated"}  # the report evaluated it

    runs = pd.DataFrame(
        [{"design": c.data.params["design"], "status": "FINISHED", **c.data.metrics}
         for c in children]
    )
    results = check_contract(contract, runs)
    assert SKIPPED not in {r.status for r in results}
    assert {r.status for r in results if r.metric.startswith("sts/")} == {OK}, results
    broken = runs.assign(**{"heldout/lee/spearman": runs["heldout/lee/spearman_base"] - 0.01})
    assert VIOLATED in {r.status for r in check_contract(contract, broken)}

    from sentence_transformers import SentenceTransformer

    child = children[0]
    folder = client.download_artifacts(child.info.run_id, "sentence_transformer", str(short_tmp / "dl"))
    model = SentenceTransformer(folder, device="cpu", trust_remote_code=True)
    vectors = model.encode(["a man is playing a guitar", "a woman is slicing an onion"])
    assert vectors.shape[0] == 2 and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    assert model[1].pooler.normalizer.mode == "zscore"
