"""Soups cooked from a hand-made sweep in a temporary MLflow store, through ``python -m sweeps.soup``
(in process): weights read from the child runs, soups logged back, mismatches refused."""

from __future__ import annotations

import pytest
import torch
from mlflow import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

from modules.contract.weights import init_fingerprint
from sweeps.analysis import load_sweep
from sweeps.soup.__main__ import main
from tests.sweeps.soup.fake_sweep import CONF_ARGS, make_sweep, trial_weights

# held-out = 1 - |w - 0.5|: sorted best first a (0.5), b (0.7), c (0.1), d (0.95)
TRIALS = {name: {"weights": trial_weights(v)} for name, v in
          {"a": 0.5, "b": 0.7, "c": 0.1, "d": 0.95}.items()}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One MLflow store for the module (creating one costs seconds); one experiment per test."""
    return tmp_path_factory.mktemp("soup-store")


def children(uri: str, parent: str) -> list:
    client = MlflowClient(uri)
    experiment = client.get_run(parent).info.experiment_id
    return client.search_runs([experiment], f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{parent}'")


def test_soups_are_cooked_from_the_child_runs_and_logged_as_soup_runs(store, capsys):
    uri, parent = make_sweep(store, TRIALS, "cooked")
    assert main([*CONF_ARGS, "--experiment", "cooked", "--tracking-uri", uri]) == 0
    out = capsys.readouterr().out
    assert "greedy soup vs best single trial on heldout/acc" in out

    soups = {r.data.tags["soup"]: r for r in children(uri, parent) if "soup" in r.data.tags}
    assert set(soups) == {"uniform", "greedy"}
    uniform, greedy = soups["uniform"], soups["greedy"]
    # uniform: mean w = (0.5 + 0.7 + 0.1 + 0.95) / 4 = 0.5625
    assert uniform.data.metrics["heldout/acc"] == pytest.approx(1 - 0.0625)
    assert uniform.data.metrics["test/acc"] == pytest.approx(1 - 0.1625)
    assert uniform.data.params["soup.size"] == "4"
    # greedy: a (1.0); a+b = 0.6 → 0.9 no; a+c = 0.3 → 0.8 no; a+d = 0.725 no → only a
    assert greedy.data.tags["soup.ingredients"] == "a"
    assert greedy.data.metrics["heldout/acc"] == pytest.approx(1.0)
    assert greedy.info.status == "FINISHED"
    client = MlflowClient(uri)
    assert {"weights.safetensors", "weights.json", "config.yaml"} <= {
        a.path for a in client.list_artifacts(uniform.info.run_id)}
    report = {a.path for a in client.list_artifacts(parent, "soup")}
    assert {"soup/soup_report.md", "soup/soup_comparison.csv", "soup/soup_ingredients.csv"} <= report
    # the significance analysis never counts a soup as a trial
    assert set(load_sweep(uri, "cooked").runs["design"]) == {"a", "b", "c", "d"}

    assert main([*CONF_ARGS, "--experiment", "cooked", "--tracking-uri", uri, "--recipe", "uniform"]) == 0
    again = [r for r in children(uri, parent) if r.data.tags.get("soup") == "uniform"]
    assert len(again) == 1, "re-cooking replaces the earlier soup run of that recipe"


def test_greedy_keeps_an_ingredient_that_strictly_helps(store):
    # best first: p (0.45 → 0.95), q (0.6 → 0.9); p+q = 0.525 → 0.975 joins; r (0.3): 0.45 → 0.95 no
    trials = {n: {"weights": trial_weights(v)} for n, v in {"p": 0.45, "q": 0.6, "r": 0.3}.items()}
    uri, parent = make_sweep(store, trials, "helps")
    assert main([*CONF_ARGS, "--experiment", "helps", "--tracking-uri", uri, "--recipe", "greedy"]) == 0
    (greedy,) = [r for r in children(uri, parent) if "soup" in r.data.tags]
    assert greedy.data.tags["soup.ingredients"] == "p; q"
    assert greedy.data.metrics["heldout/acc"] == pytest.approx(0.975)


@pytest.mark.parametrize(
    ("odd", "message"),
    [
        ({"weights": {"w": torch.full((3,), 0.2)}}, "tensor 'count' is missing"),
        ({"weights": {**trial_weights(0.2), "extra": torch.ones(1)}}, "tensor 'extra' is unexpected"),
        ({"weights": trial_weights(0.2, size=4)}, "tensor 'w' has shape (4,), expected (3,)"),
        ({"weights": {"w": torch.full((3,), 0.2, dtype=torch.float64), "count": torch.tensor(7)}},
         "tensor 'w' has dtype torch.float64"),
        ({"weights": trial_weights(0.2), "init": init_fingerprint(trial_weights(1.0))},
         "initial weights differ"),
    ],
)
def test_mismatched_trials_are_one_error_line_exit_2_and_nothing_logged(store, capsys, odd, message):
    name = f"odd-{len(message)}-{message[:12]}"
    uri, parent = make_sweep(store, {"a": {"weights": trial_weights(0.5)}, "odd": odd}, name)
    capsys.readouterr()  # MLflow's own store set-up lines
    assert main([*CONF_ARGS, "--experiment", name, "--tracking-uri", uri]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: cannot average trial 'odd'")
    assert message in err[0]
    assert not [r for r in children(uri, parent) if "soup" in r.data.tags]
    assert not MlflowClient(uri).list_artifacts(parent, "soup")


def test_unknown_experiment_and_parent_and_missing_weights_are_errors(store, capsys):
    uri, parent = make_sweep(store, TRIALS, "errors")
    capsys.readouterr()  # MLflow's own store set-up lines
    assert main([*CONF_ARGS, "--experiment", "nope", "--tracking-uri", uri]) == 2
    assert main([*CONF_ARGS, "--experiment", "errors", "--tracking-uri", uri, "--parent", "0" * 32]) == 2
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("errors").experiment_id
    bare = client.create_run(experiment, run_name="bare", tags={MLFLOW_PARENT_RUN_ID: parent}).info.run_id
    client.log_metric(bare, "heldout/acc", 0.5)
    client.set_terminated(bare)
    assert main([*CONF_ARGS, "--experiment", "errors", "--tracking-uri", uri]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("error: ") for line in lines)
    assert "unknown MLflow experiment 'nope'" in lines[0]
    assert "unknown parent run" in lines[1]
    assert "'bare'" in lines[2] and "weights.safetensors" in lines[2]
