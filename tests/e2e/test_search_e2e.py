"""A searched sweep and a PBT sweep through the real command line, read back from MLflow and from
the searcher's and the scheduler's own records."""

from __future__ import annotations

import csv
import io
import pickle
from collections import defaultdict

import numpy as np
import pytest
from mlflow import MlflowClient
from optuna.trial import TrialState

from tests.conftest import ONE_AT_A_TIME, run_sweep_cli
from tests.e2e.mlflow_store import store_uri, sweep_runs

pytestmark = pytest.mark.slow


def test_tpe_runs_each_configuration_once_per_seed_and_learns_the_seed_means(short_tmp):
    result = run_sweep_cli("+experiment=smoke_tpe", "trainer.max_epochs=1", "sweep.num_samples=3",
                           ONE_AT_A_TIME, f"paths.output_dir={short_tmp}")
    assert result.returncode == 0, result.stderr[-3000:]
    parents, children = sweep_runs(short_tmp, "smoke_tpe")
    assert len(parents) == 1 and len(children) == 6
    by_design = defaultdict(dict)
    for child in children:
        by_design[child.data.tags["design"]][int(child.data.tags["seed"])] = child.data.metrics["val_acc"]
    assert len(by_design) == 3 and all(sorted(s) == [0, 1] for s in by_design.values())

    state = next((short_tmp / "ray" / "smoke_tpe").glob("searcher-state-*.pkl"))
    with state.open("rb") as f:
        study = pickle.load(f)["_ot_study"]  # Ray's OptunaSearch saves its __dict__
    told = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert len(told) == 3, "one observation per configuration"
    for trial in told:
        design = ",".join(f"{k}={v!r}" if isinstance(v, float) else f"{k}={v}" for k, v in sorted(trial.params.items()))
        assert trial.value == pytest.approx(np.mean(list(by_design[design].values())))
    # the report reads it as a search: what it did, its top configurations, the keys' importance
    printed = result.stdout + result.stderr
    assert "sampled search (sweep.search=optuna" in printed
    assert "top 3 configurations by val_acc" in printed
    assert "importance of the swept keys" in printed


def _schedule(client: MlflowClient, run_id: str) -> list[dict]:
    text = client.download_artifacts(run_id, "config_schedule.csv")
    with open(text) as f:
        return list(csv.DictReader(io.StringIO(f.read())))


def test_pbt_exploits_and_the_child_run_shows_the_schedule(short_tmp):
    result = run_sweep_cli("+experiment=pbt_smoke", f"paths.output_dir={short_tmp}")
    assert result.returncode == 0, result.stderr[-3000:]
    exploits = (short_tmp / "ray" / "pbt_smoke" / "pbt_global.txt").read_text().strip().splitlines()
    assert exploits, "no member of the population cloned another"
    _, children = sweep_runs(short_tmp, "pbt_smoke")
    assert len(children) == 4 and all(c.info.status == "FINISHED" for c in children)
    client = MlflowClient(store_uri(short_tmp))
    mutated = [c for c in children if int(c.data.tags["config_mutations"]) > 0]
    assert mutated, "the exploit shows on a child run"
    assert sum(int(c.data.tags["config_mutations"]) for c in children) <= len(exploits)
    for child in mutated:
        rows = _schedule(client, child.info.run_id)
        assert len(rows) == int(child.data.tags["config_mutations"]) + 1
        epochs = [int(r["from_epoch"]) for r in rows]
        assert epochs[0] == 1 and epochs == sorted(epochs) and len(set(epochs)) == len(epochs)
        lrs = [float(r["optim.lr"]) for r in rows]
        assert all(1e-4 <= lr <= 1e-1 for lr in lrs) and len(set(lrs)) == len(lrs)
        assert f"epoch {epochs[1]}: optim.lr=" in child.data.tags["config_schedule"]
        assert child.data.tags["seed"] == "0"
