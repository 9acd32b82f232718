"""End-to-end: the soup_finetune preset shrunk to the minimum (2 learning rates, 3 newsgroups, a
hashed bag-of-words encoder instead of MiniLM) through the real CLI with ``sweep.soup=greedy``;
the greedy soup is read back from MLflow as a child run of the sweep."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient

from tests.conftest import ONE_AT_A_TIME, run_sweep_cli
from tests.e2e.mlflow_store import store_uri, sweep_runs

pytestmark = pytest.mark.slow
TINY = [
    "+experiment=soup_finetune", "model/encoder=hashed_bag", "trainer.max_epochs=1",
    "sweep.space.optim.lr='choice(0.01,0.05)'", "sweep.soup=greedy",
    "data.categories=[sci.space,rec.autos,talk.politics.guns]",
    "data.train_per_class=6", "data.heldout_per_class=4", "data.test_per_class=4", ONE_AT_A_TIME,
]


def test_a_sweep_cooks_its_greedy_soup_into_a_child_run(short_tmp):
    result = run_sweep_cli(*TINY, f"paths.output_dir={short_tmp}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "greedy soup vs best single trial on heldout/acc" in result.stdout

    parents, children = sweep_runs(short_tmp, "soup_finetune")
    (parent,) = parents
    trials = [c for c in children if "soup" not in c.data.tags]
    soups = [c for c in children if "soup" in c.data.tags]
    assert len(trials) == 2 and all(t.info.status == "FINISHED" for t in trials)
    (greedy,) = soups
    assert greedy.data.tags["soup"] == "greedy" and greedy.info.status == "FINISHED"
    kept = greedy.data.tags["soup.ingredients"].split("; ")
    best = max(trials, key=lambda t: t.data.metrics["heldout/acc"])
    assert kept[0] == best.info.run_name
    assert greedy.data.metrics["heldout/acc"] >= best.data.metrics["heldout/acc"]
    assert 0.0 <= greedy.data.metrics["test/acc"] <= 1.0
    client = MlflowClient(store_uri(short_tmp))
    assert "weights.safetensors" in {a.path for a in client.list_artifacts(greedy.info.run_id)}
    assert "soup/soup_report.md" in {a.path for a in client.list_artifacts(parent.info.run_id, "soup")}
