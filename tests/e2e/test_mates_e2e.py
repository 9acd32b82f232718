"""The MATES selection preset shrunk to the minimum, end to end through the CLI: random vs mates,
one seed, two stages of a tiny model on a tiny pool; per-stage measurements read back from MLflow."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient

from tests.conftest import ONE_AT_A_TIME, run_sweep_cli
from tests.e2e.mlflow_store import metric_steps, store_uri, sweep_runs

pytestmark = pytest.mark.slow
TINY = [
    "+experiment=mates_selection", "sweep.seeds=[0]", "sweep.space.selection='choice(random,mates)'",
    "task.stages=2", "task.stage_steps=2", "task.batch_size=4", "task.warmup_steps=1",
    "model.hidden_size=32", "model.num_layers=1", "model.intermediate_size=64",
    "data.pool_per_source=30", "data.val_per_source=2", "data.heldout_sequences=8",
    "data.reference_sequences=4", "data.eval_sequences=4", "data.seq_len=32", "data.vocab_size=512",
    "data.wiki_reference_articles=2", "data.wiki_eval_articles=2", "data.wiki_heldout_articles=2",
    ONE_AT_A_TIME,
]  # mates keeps its defaults: each stage's 40 candidates (a fresh slice; a fifth is kept) are all probed
PER_STAGE = ["mix/wikipedia", "mix/friends", "time/train_s", "time/select_s"]
EVALUATED = ["eval/loss", "ref/loss", "eval/unigram_loss", "sanity/eval_disjoint_from_probe",
             "val/ppl/wikipedia", "val/ppl/newsgroups", "tokens_seen"]  # + the final report


def test_tiny_mates_sweep_logs_every_stage_on_every_child(short_tmp):
    result = run_sweep_cli(*TINY, f"paths.output_dir={short_tmp}", timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Verdicts for sweep 'mates_selection'" in result.stdout

    parents, children = sweep_runs(short_tmp, "mates_selection")
    assert len(parents) == 1 and len(children) == 2
    client = MlflowClient(store_uri(short_tmp))
    by_design = {c.data.params["selection"]: c for c in children}
    assert set(by_design) == {"random", "mates"}
    for child in children:
        assert child.info.status == "FINISHED"
        for key in PER_STAGE:
            assert metric_steps(short_tmp, child.info.run_id, key) == [1, 2], key
        for key in EVALUATED:
            assert metric_steps(short_tmp, child.info.run_id, key) == [1, 2, 3], key
        history = client.get_metric_history(child.info.run_id, "tokens_seen")
        assert {m.value for m in history} == {256.0, 512.0}  # 2 x 4 sequences x 32 tokens per stage
        assert "total_mix/wikipedia" in child.data.metrics
        artifacts = {a.path for a in client.list_artifacts(child.info.run_id)}
        assert {"per_example", "mixture.png", "stages.csv"} <= artifacts
    mates = by_design["mates"].info.run_id
    assert metric_steps(short_tmp, mates, "influence/spearman") == [2]  # chosen before stage 1
    assert metric_steps(short_tmp, mates, "time/probe_s") == [2]
    report = {a.path for a in client.list_artifacts(parents[0].info.run_id, "report")}
    assert "report/report.md" in report
