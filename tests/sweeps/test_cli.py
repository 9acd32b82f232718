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
    assert plan.param_space["seed"] == {"grid_search": [0, 1, 2]}
    assert f"paths.output_dir={tmp_path}" in plan.base_overrides


def test_plan_counts_its_trials(tmp_path):
    plan = plan_sweep(["+experiment=smoke", f"paths.output_dir={tmp_path}", "model.hidden=8,16,32"])
    assert plan.num_trials == 2 * 3 * 3  # learning rates × widths × seeds
    sampled = plan_sweep(["+experiment=smoke", f"paths.output_dir={tmp_path}", "sweep.num_samples=3",
                          "sweep.space.optim.lr='interval(1e-3,1e-1)'"])
    assert sampled.num_trials == 2 * 3 * 3  # widths × seeds × samples


def test_relative_output_dir_is_made_absolute():
    plan = plan_sweep(["+experiment=smoke", "paths.output_dir=some/where"])
    assert Path(plan.cfg.paths.output_dir).is_absolute()
    assert plan.cfg.tracking.uri == f"sqlite:///{plan.cfg.paths.output_dir}/mlflow.db"


CLUSTER_PRESETS = {"cl_cifar100_vit"}  # ask for more than a laptop has: validated for a cluster


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_preset_composes_and_validates(experiment, tmp_path):
    args = [f"+experiment={experiment}", f"paths.output_dir={tmp_path}"]
    if experiment in CLUSTER_PRESETS:
        with pytest.raises(SweepConfigError, match="resources: a trial needs"):
            plan_sweep(args)
        args.append("cluster=address")
    plan = plan_sweep(args)
    assert plan.cfg.sweep.name
    assert plan.num_trials >= 1


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
        (["sweep.seeds=[0.5,1.5]"], "sweep.seeds[0]"),
        (["++sweep.space.optim='choice(1,2)'"], "Config group override must be a string"),
        (["sweep.space.optim.lr='range(0,2000000)'"], "more than sweep.max_trials"),
        (["resources.cpu=64"], "needs 64 CPUs"),
    ],
)
def test_bad_input_fails_with_one_line_and_exit_2_before_ray(args, message, short_tmp, capsys):
    code = main(["+experiment=smoke", f"paths.output_dir={short_tmp}", f"cluster.tmp_dir={short_tmp}/rt", *args])
    assert code == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert message in lines[0]
    assert not (short_tmp / "rt").exists(), "Ray must not start on bad input"
    assert not (short_tmp / "mlflow.db").exists(), "nothing is recorded for a bad sweep"


def test_the_command_exits_2_with_one_line_on_bad_input(short_tmp):
    result = run_sweep_cli("+experiment=smoke", f"paths.output_dir={short_tmp}", f"cluster.tmp_dir={short_tmp}/rt",
                           "optim.lrr=0.1", timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: Could not override 'optim.lrr'. To append to your config use +optim.lrr=0.1"
    ]
    assert not (short_tmp / "rt").exists(), "Ray must not start on bad input"


def test_a_resume_of_a_damaged_ray_state_is_one_line_before_ray_or_mlflow_start(short_tmp, capsys):
    state = short_tmp / "ray" / "smoke"
    state.mkdir(parents=True)
    (state / "sweep_state.json").write_text("{}")
    (state / "tuner.pkl").write_bytes(b"a sweep Tune can restore")
    (state / "experiment_state-2026-12-02_10-00-00.json").write_text("")  # an upload caught mid-rewrite
    code = main(["+experiment=smoke", f"paths.output_dir={short_tmp}", f"cluster.tmp_dir={short_tmp}/rt",
                 "resume=true"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "is damaged" in err[0], err
    assert not (short_tmp / "rt").exists() and not (short_tmp / "mlflow.db").exists()
    assert sorted(p.name for p in state.iterdir()) == [
        "experiment_state-2026-12-02_10-00-00.json", "sweep_state.json", "tuner.pkl"]


def test_plan_rejects_unknown_key_in_preset_space(tmp_path):
    with pytest.raises(SweepConfigError, match="model.width"):
        plan_sweep(["+experiment=smoke", f"paths.output_dir={tmp_path}", "model.width=1,2"])


def test_a_second_sweep_with_the_same_name_is_refused_while_the_first_runs(short_tmp, capsys):
    import subprocess
    import sys

    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from sweeps.locks import sweep_lock\n"
         f"with sweep_lock({str(short_tmp)!r}, 'smoke'):\n"
         "    print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2],
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        code = main(["+experiment=smoke", f"paths.output_dir={short_tmp}"])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1
        assert "sweep 'smoke' is already running" in err[0] and f"pid {holder.pid}" in err[0]
        assert not (short_tmp / "ray_tmp").exists() and not (short_tmp / "mlflow.db").exists()
    finally:
        holder.kill()
        holder.wait()


def test_help_lists_presets_and_no_arguments_is_usage_with_exit_2(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "usage: python sweep.py" in out
    for name in EXPERIMENTS:
        assert f"  {name} " in out
    assert main([]) == 2
    assert capsys.readouterr().err.startswith("usage: python sweep.py")


def test_multirun_flag_is_accepted(tmp_path, capsys):
    assert main(["-m", "+experiment=smoke", f"paths.output_dir={tmp_path}", "model.hidden=8,16", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "model.hidden: 8,16" in out and "trials: 12" in out  # x 2 lrs x 3 seeds


@pytest.mark.parametrize(
    "args",
    [["--help"], ["+experiment=smoke", "optim.lrr=1"], ["+experiment=smoke", "--dry-run"]],
)
def test_help_bad_input_and_dry_run_import_no_heavy_stack(args, tmp_path):
    import subprocess
    import sys

    code = (
        "import contextlib, io, sys\n"
        "from sweeps.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
        f"    main({[*args, f'paths.output_dir={tmp_path}']!r})\n"
        "print(sorted(m for m in ('ray', 'torch', 'lightning', 'mlflow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).parents[2], timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stderr[-2000:]


def test_a_truncated_sweep_state_is_refused_on_resume(short_tmp, capsys):
    state = short_tmp / "ray" / "smoke"
    state.mkdir(parents=True)
    (state / "tuner.pkl").write_bytes(b"")  # what a full disk left behind
    code = main(["+experiment=smoke", f"paths.output_dir={short_tmp}", "resume=true"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "truncated" in err[0]


def test_state_files_are_written_atomically(tmp_path):
    from sweeps import storage

    target = tmp_path / "state" / "sweep_state.json"
    storage.write_text(str(target), "{}")
    storage.write_text(str(target), '{"a": 1}')
    assert target.read_text() == '{"a": 1}' and storage.size(str(target)) == 8
    assert not list(target.parent.glob("*.partial"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tracking=server", "tracking.uri=http://127.0.0.1:9"], "tracking.uri http://127.0.0.1:9 does not answer"),
        (["cluster=address", "cluster.address=ray://127.0.0.1:9"], "cluster.address ray://127.0.0.1:9 does not answer"),
    ],
)
def test_unreachable_servers_are_one_line_before_ray(args, message, short_tmp, capsys):
    code = main(["+experiment=smoke", f"paths.output_dir={short_tmp}", *args])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2 and len(err) == 1 and message in err[0], err


def test_dry_run_masks_secrets(tmp_path, capsys):
    assert main(["+experiment=smoke", f"paths.output_dir={tmp_path}", "+db.password=hunter2", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "hunter2" not in out
    assert "password: '***'" in out or "password: ***" in out
