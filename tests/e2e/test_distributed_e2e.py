"""Multi-worker trials through Ray Train on 2 CPU workers: DDP and DeepSpeed ZeRO-3 (ZeRO-2 differs
from ZeRO-3 only in its config, which tests/sweeps checks composes); the first trial fails once
and is retried from its Ray Train checkpoint. On a 2-CPU local Ray a trial's worker group needs
both CPUs, so the sweep runs the two trials one at a time and no worker group waits out Ray
Train's startup timeout (without the cap Tune starts every trial at once and their groups starve
each other)."""

from __future__ import annotations

from itertools import pairwise

import pytest

from tests.conftest import run_sweep_cli
from tests.e2e.mlflow_store import metric_steps, sweep_runs

pytestmark = pytest.mark.slow


def test_ddp_and_deepspeed_zero3_trials_train_on_two_cpu_workers_one_at_a_time(short_tmp):
    result = run_sweep_cli(
        "+experiment=smoke", "resources.workers=2", "cluster.num_cpus=2", "trainer.max_epochs=2",
        "sweep.seeds=[0]", "sweep.space.optim.lr='choice(0.01)'", "sweep.space.model.hidden='choice(32)'",
        "sweep.space.strategy='choice(ddp,deepspeed_zero3)'", "sweep.name=dist",
        f"paths.output_dir={short_tmp}",
        "+callbacks.fail._target_=modules.callbacks.fault_injection.FailOnce",
        "+callbacks.fail.epoch=0", f"+callbacks.fail.marker={short_tmp}/failed-once",
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "WorkerGroupStartupTimeoutError" not in output
    _, children = sweep_runs(short_tmp, "dist")
    assert sorted(c.data.params["strategy"] for c in children) == ["ddp", "deepspeed_zero3"]
    for child in children:
        assert child.info.status == "FINISHED", child.data.tags.get("error")
        assert child.data.metrics["val_acc"] > 0.3  # 10 classes: chance is 0.1
        steps = metric_steps(short_tmp, child.info.run_id, "val_acc")
        assert steps == sorted(set(steps)) and steps[-1] == 3, steps  # 2 epochs + final, no step twice
    assert (short_tmp / "failed-once").exists(), "the injected failure happened (and was retried)"
    spans = sorted((c.info.start_time, c.info.end_time) for c in children)
    assert all(end <= next_start for (_, end), (next_start, _) in pairwise(spans)), \
        "two 2-worker trials ran at once on 2 CPUs"
