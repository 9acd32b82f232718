"""Bad searcher and PBT input: one line, exit 2, before Ray starts and before anything is recorded."""

from __future__ import annotations

import pytest

from sweeps.cli import main


class ScoreOnlyTask:
    """A task that writes no checkpoint (a real class: PBT must refuse it by its declaration)."""

    def run(self, cfg, ctx) -> dict[str, float]:
        return {"val_acc": 0.5}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["+experiment=smoke", "sweep.search=optuna", "sweep.space.model.hidden='range(5,5)'"],
         "sweep.space.model.hidden: 'range(5,5)' has no values (an empty range)"),
        (["+experiment=smoke", "sweep.search=hyperopt"], "sweep.search must be one of grid, random, optuna, bohb"),
        (["+experiment=smoke", "sweep.search=bohb"], "sweep.search=bohb and scheduler=hyperband_bohb go together"),
        (["+experiment=smoke", "scheduler=hyperband_bohb"], "go together"),
        (["+experiment=smoke", "sweep.search=optuna", "scheduler=asha"], "use scheduler=fifo"),
        (["+experiment=pbt_smoke", f"task._target_={__name__}.ScoreOnlyTask"],
         "scheduler=pbt needs a task that writes and resumes from checkpoints"),
        (["+experiment=pbt_smoke", "resources.workers=2"], "single-process trials only"),
    ],
)
def test_bad_search_input_is_one_line_and_exit_2_before_ray(args, message, short_tmp, capsys):
    code = main([*args, f"paths.output_dir={short_tmp}", f"cluster.tmp_dir={short_tmp}/rt"])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2, lines
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert message in lines[0]
    assert not (short_tmp / "rt").exists(), "Ray must not start on bad input"
    assert not (short_tmp / "mlflow.db").exists(), "nothing is recorded for a bad sweep"
