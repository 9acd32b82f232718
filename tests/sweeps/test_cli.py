from __future__ import annotations

from pathlib import Path

import pytest

from sweeps.cli import main, plan_sweep, split_overrides
from sweeps.errors import SweepConfigError
from tests.conftest import run_sweep_cli

EXPERIMENTS = sorted(p.stem for p in (Path(__file__).parents[2] / "conf" / "experiment").glob("*.yaml"))


def test_bare_hydra_sweeps_join_the_search_space():
    plain, space = split_overrides(
        ["+experiment=smoke", "optim.lr=0.1,0.01", "model.hidden=range(16,65,16)", "trainer.max_epochs=2"]
    )
    assert plain == ["+experiment=smoke", "trainer.max_epochs=2"]
    assert space == {"optim.lr": "0.1,0.01", "model.hidden": "range(16,65,16)"}


def test_quoted_space_entries_set_one_key_of_the_space():
    plain, space = split_overrides(["sweep.space.optim.lr='choice(0.1,0.01)'"])
    assert plain == []
    assert space == {"optim.lr": "choice(0.1,0.01)"}


def test_plan_merges_preset_space_with_command_line(tmp_path):
    plan = plan_sweep(
        ["+experiment=smoke", f"paths.output_dir={tmp_path}", "model.hidden=8,16,32",
         "sweep.space.optim.lr='tag(log, interval(1e-3,1e-1))'"]
    )
    assert plan.space == {"optim.lr": "tag(log, interval(1e-3,1e-1))", "model.hidden": "8,16,32"}
    assert plan.param_space["model.hidden"] == {"grid_search": ["8", "16", "32"]}
    assert plan.param_space["seed"] == {"grid_search": [0, 1]}
    assert f"paths.output_dir={tmp_path}" in plan.base_overrides


def test_plan_counts_its_trials(tmp_path):
    plan = plan_sweep(["+experiment=smoke", f"paths.output_dir={tmp_path}", "model.hidden=8,16,32"])
    assert plan.num_trials == 2 * 3 * 2  # learning rates × widths × seeds
    sampled = plan_sweep(["+experiment=smoke", f"paths.output_dir={tmp_path}", "sweep.num_samples=3",
                          "sweep.space.optim.lr='interval(1e-3,1e-1)'"])
    assert sampled.num_trials == 2 * 2 * 3  # widths × seeds × samples


def test_relative_output_dir_is_made_absolute():
    plan = plan_sweep(["+experiment=smoke", "paths.output_dir=some/where"])
    assert Path(plan.cfg.paths.output_dir).is_absolute()
    assert plan.cfg.tracking.uri == f"sqlite:///{plan.cfg.paths.output_dir}/mlflow.db"


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_preset_composes_and_validates(experiment, tmp_path):
    plan = plan_sweep([f"+experiment={experiment}", f"paths.output_dir={tmp_path}"])
    assert plan.cfg.sweep.name
    assert plan.param_space


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["optim.lrr=0.1"], "optim.lrr"),
        (["model=nosuchmodel"], "nosuchmodel"),
        (["optim.lr=0.1,"], "cannot parse override"),
        (["sweep.space.optim.lr='choice(0.1,'"], "malformed sweep expression"),
        (["sweep.space.optim.lr='0.1'"], "not a sweep"),
        (["sweep.space.optim.nope='choice(1,2)'"], "optim.nope"),
        (["model.width=8,16"], "model.width"),
        (["sweep.mode=maximize"], "sweep.mode"),
        (["tracking=server"], "tracking.uri"),
        (["resume=true", "sweep.name=never-ran"], "no sweep state to resume"),
        (["analysis.sanity=[{kind:magic,metric:x}]"], "analysis.sanity[0].kind"),
        (["analysis.n_permutations=lots"], "analysis.n_permutations"),
    ],
)
def test_bad_input_fails_with_one_line_and_exit_2_before_ray(args, message, short_tmp, capsys):
    code = main(["+experiment=smoke", f"paths.output_dir={short_tmp}", *args])
    assert code == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert message in lines[0]
    assert not (short_tmp / "ray_tmp").exists(), "Ray must not start on bad input"
    assert not (short_tmp / "mlflow.db").exists(), "nothing is recorded for a bad sweep"


def test_the_command_exits_2_with_one_line_on_bad_input(short_tmp):
    result = run_sweep_cli("+experiment=smoke", f"paths.output_dir={short_tmp}", "optim.lrr=0.1", timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: Could not override 'optim.lrr'. To append to your config use +optim.lrr=0.1"
    ]
    assert not (short_tmp / "ray_tmp").exists(), "Ray must not start on bad input"


def test_plan_rejects_unknown_key_in_preset_space(tmp_path):
    with pytest.raises(SweepConfigError, match="model.width"):
        plan_sweep(["+experiment=smoke", f"paths.output_dir={tmp_path}", "model.width=1,2"])
