"""A run's per_example/index.json is data: files are read only from inside the run's folder."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from mlflow import MlflowClient

from modules.contract.per_example import read_entry
from sweeps.analysis.load import load_sweep


@pytest.fixture
def run_folder(tmp_path):
    run = tmp_path / "run"
    (run / "per_example").mkdir(parents=True)
    pd.DataFrame({"example_id": [0, 1], "score": [1.0, 0.0]}).to_csv(run / "per_example" / "acc.csv", index=False)
    pd.DataFrame({"example_id": [0, 1], "score": [0.5, 0.5]}).to_csv(tmp_path / "x.csv", index=False)
    return run / "per_example"


def test_a_file_inside_the_run_is_read(run_folder):
    scores = read_entry(run_folder, {"file": "acc.csv", "statistic": "mean"})
    assert scores is not None and list(scores.frame["score"]) == [1.0, 0.0]


@pytest.mark.parametrize("name", ["/etc/passwd", "../../x.csv", "../x.csv", "per_example/../../x.csv"])
def test_absolute_and_escaping_paths_are_ignored_with_a_note(run_folder, name, capsys):
    assert (run_folder.parent.parent / "x.csv").is_file()  # the file an escape would reach exists
    assert read_entry(run_folder, {"file": name, "statistic": "mean"}) is None
    assert "outside the run's artifacts; ignored" in capsys.readouterr().err


def test_a_symlink_out_of_the_run_is_ignored(run_folder, capsys):
    (run_folder / "link.csv").symlink_to(run_folder.parent.parent / "x.csv")
    assert read_entry(run_folder, {"file": "link.csv", "statistic": "mean"}) is None
    assert "ignored" in capsys.readouterr().err


def test_a_crafted_index_in_mlflow_is_never_read(tmp_path, capsys):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    client = MlflowClient(uri)
    exp = client.create_experiment("crafted", artifact_location=(tmp_path / "art").as_uri())
    parent = client.create_run(exp, tags={"sweep.name": "crafted"}).info.run_id
    child = client.create_run(exp, tags={"mlflow.parentRunId": parent, "design": "d", "seed": "0"}).info.run_id
    client.log_metric(child, "acc", 0.5)
    index = {"acc": {"file": "/etc/passwd", "statistic": "mean"},
             "acc2": {"file": "../../x.csv", "statistic": "mean"}}
    client.log_text(child, json.dumps(index), "per_example/index.json")
    client.set_terminated(child)
    data = load_sweep(uri, "crafted")
    assert list(data.runs["run_id"]) == [child]
    assert data.per_example == {}
    assert capsys.readouterr().err.count("outside the run's artifacts; ignored") == 2
