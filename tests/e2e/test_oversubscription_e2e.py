"""DDP trials of two workers each on a 2-CPU local Ray: a trial's worker group needs both CPUs, so
the sweep runs them one at a time and no worker group waits out Ray Train's startup timeout
(without the cap Tune starts every trial at once and their groups starve each other). Two trials
show it; each one more costs a worker group's start."""

from __future__ import annotations

from itertools import pairwise

import pytest

from tests.conftest import run_sweep_cli
from tests.e2e.mlflow_store import sweep_runs

pytestmark = pytest.mark.slow


def test_two_worker_ddp_trials_on_two_cpus_run_one_at_a_time(short_tmp):
    result = run_sweep_cli(
        "+experiment=smoke", "strategy=ddp", "resources.workers=2", "cluster.num_cpus=2",
        "trainer.max_epochs=1", "sweep.seeds=[0,1]", "sweep.space.optim.lr='choice(0.01)'",
        "sweep.space.model.hidden='choice(16)'", "sweep.name=ddp2", f"paths.output_dir={short_tmp}",
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "WorkerGroupStartupTimeoutError" not in output
    _, children = sweep_runs(short_tmp, "ddp2")
    assert len(children) == 2 and all(c.info.status == "FINISHED" for c in children)
    spans = sorted((c.info.start_time, c.info.end_time) for c in children)
    assert all(end <= next_start for (_, end), (next_start, _) in pairwise(spans)), \
        "two 2-worker trials ran at once on 2 CPUs"
