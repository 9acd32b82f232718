"""Soups rebuild a trial from the LOCAL config tree plus its logged overrides: an artifact's
``_target_`` is never instantiated, a planted override is refused before anything runs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from mlflow import MlflowClient

from sweeps.soup.__main__ import main
from tests.conftest import ROOT
from tests.sweeps.soup.fake_sweep import CONF_ARGS, make_sweep, trial_weights

TRIALS = {name: {"weights": trial_weights(v)} for name, v in {"a": 0.5, "b": 0.7}.items()}


def best_child(uri: str, parent: str) -> str:
    client = MlflowClient(uri)
    experiment = client.get_run(parent).info.experiment_id
    (run,) = client.search_runs([experiment], f"tags.`mlflow.parentRunId` = '{parent}' and tags.design = 'a'")
    return run.info.run_id


def planted_config(target_file) -> str:
    """What a crafted run logs: Hydra would build Path(target_file) and write code into it."""
    return (
        "task:\n  _target_: pathlib.Path.write_text\n  _args_:\n"
        f"    - _target_: pathlib.Path\n      _args_: ['{target_file}']\n"
        "    - 'import os; os.system(\"echo pwned\")'\n"
    )


def test_a_planted_config_yaml_is_refused_through_the_command(tmp_path):
    uri, parent = make_sweep(tmp_path, TRIALS, "planted")
    target = tmp_path / "site-packages" / "evil.pth"
    target.parent.mkdir()
    MlflowClient(uri).log_text(best_child(uri, parent), planted_config(target), "config.yaml")
    result = subprocess.run(
        [sys.executable, "-m", "sweeps.soup", *CONF_ARGS, "--experiment", "planted", "--tracking-uri", uri],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    (line,) = [x for x in result.stderr.splitlines() if x.strip()]
    assert line.startswith("error: ") and "task._target_='pathlib.Path.write_text'" in line
    assert "tampered" in line
    assert not target.exists(), "nothing may be written"
    assert not [r for r in MlflowClient(uri).search_runs(
        [MlflowClient(uri).get_run(parent).info.experiment_id]) if "soup" in r.data.tags]


@pytest.mark.parametrize(
    ("where", "override", "message"),
    [
        ("param", ("task._target_", "pathlib.Path.write_text"), "sets a Hydra special key"),
        ("param", ("task", "{_target_: pathlib.Path.write_text}"), "sets a Hydra special key"),
        ("base", "hydra.searchpath=[file:///tmp]", "sets a Hydra special key"),
        ("base", """+evil='${oc.create:"{_target_: pathlib.Path.write_text}"}'""", "not declared in the local config"),
        ("base", "model.nope=1", "do not compose with the local config"),
    ],
)
def test_planted_overrides_are_refused_before_anything_runs(tmp_path, capsys, where, override, message):
    uri, parent = make_sweep(tmp_path, TRIALS, "overrides")
    client = MlflowClient(uri)
    if where == "param":  # a planted sampled value
        key, value = override
        client.set_tag(best_child(uri, parent), "sweep.sampled", json.dumps({"seed": "0", key: value}))
    else:
        client.log_text(parent, json.dumps({"base_overrides": [override]}), "overrides.json")
    capsys.readouterr()
    code = main([*CONF_ARGS, "--experiment", "overrides", "--tracking-uri", uri, "--no-log"])
    err = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert code == 2 and len(err) == 1 and err[0].startswith("error: "), err
    assert message in err[0]


def test_a_sweep_without_logged_overrides_is_refused(tmp_path, capsys):
    uri, parent = make_sweep(tmp_path, TRIALS, "old")
    client = MlflowClient(uri)
    client.log_text(parent, "not json", "overrides.json")
    capsys.readouterr()
    assert main([*CONF_ARGS, "--experiment", "old", "--tracking-uri", uri]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "overrides.json" in line
