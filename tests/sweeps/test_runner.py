"""The runner's checks before Tune starts: resume against the saved plan, concurrency of worker groups."""

from __future__ import annotations

import errno
import logging
import os

import pytest

from sweeps.errors import SweepConfigError
from sweeps.runner import check_same_plan

SAVED = {"overrides": ["+experiment=smoke", "trainer.max_epochs=3"], "space": {"optim.lr": "0.1,0.01"},
         "seeds": [0, 1], "num_samples": 1}


def test_same_plan_resumes_and_a_difference_is_named():
    check_same_plan(SAVED, dict(SAVED), force=False)
    check_same_plan(None, SAVED, force=False)  # a state saved before plans were recorded
    other = {**SAVED, "seeds": [0, 1, 2], "overrides": ["+experiment=smoke", "trainer.max_epochs=8"]}
    with pytest.raises(SweepConfigError) as err:
        check_same_plan(SAVED, other, force=False)
    assert "seeds" in str(err.value) and "trainer.max_epochs=8" in str(err.value)
    assert "resume=force" in str(err.value)
    check_same_plan(SAVED, other, force=True)


def test_multi_worker_trials_run_only_as_many_at_once_as_the_machine_holds():
    from omegaconf import OmegaConf

    from sweeps.runner import concurrency

    def cfg(workers: int, cpu: float, wanted: int = 0, target: str = "sweeps.cluster.LocalCluster"):
        return OmegaConf.create({
            "sweep": {"max_concurrent": wanted}, "strategy": {"name": "ddp" if workers > 1 else "auto"},
            "resources": {"workers": workers, "cpu": cpu, "gpu": 0},
            "cluster": {"_target_": target, "num_cpus": 2},
        })

    assert concurrency(cfg(2, 1)) == 1  # 4 DDP trials of 2 workers on 2 CPUs: one at a time
    assert concurrency(cfg(2, 0.5)) == 2
    assert concurrency(cfg(2, 0.5, wanted=1)) == 1
    assert concurrency(cfg(1, 1)) == 0  # single-process trials: Tune's own resource accounting
    assert concurrency(cfg(2, 1, target="sweeps.cluster.AddressCluster")) == 0


def _trial_failure(error: BaseException) -> logging.LogRecord:
    """The record Tune's controller logs when a trial fails (``logger.error(..., exc_info=error)``)."""
    return logging.LogRecord("ray.tune.execution.tune_controller", logging.ERROR, __file__, 1,
                             "Trial task failed for trial run_trial_00011", None, (type(error), error, None))


def test_tune_keeps_a_trials_traceback_off_the_terminal_only_when_the_disk_is_full():
    from ray.exceptions import RayTaskError

    from sweeps.runner import DiskFullTrialErrors

    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    remote = RayTaskError("train", f"Traceback (most recent call last):\nOSError: [Errno 28] {os.strerror(errno.ENOSPC)}",
                          RuntimeError("wrapped"))  # what a trial's process sends back: the text only
    keep = DiskFullTrialErrors()
    assert not keep.filter(_trial_failure(full))
    assert not keep.filter(_trial_failure(remote))
    assert keep.filter(_trial_failure(ValueError("a bug in the task")))
    assert keep.filter(logging.LogRecord("x", logging.ERROR, __file__, 1, "no exception", None, None))
    # Ray's syncer writes the failed upload's traceback into the message itself
    upload = f"Last sync command failed with the following error:\nTraceback ...\nOSError: {os.strerror(errno.ENOSPC)}"
    assert not keep.filter(logging.LogRecord("ray.train._internal.syncer", logging.WARNING, __file__, 1,
                                             upload, None, None))


@pytest.mark.parametrize(
    ("error", "exits"),
    [(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), True),
     (RuntimeError("(sqlite3.OperationalError) database or disk is full"), True),
     (ValueError("a metric with no finished trial"), False)],
)
def test_a_full_disk_fails_the_report_and_any_other_analysis_error_is_a_line(monkeypatch, tmp_path, capsys,
                                                                              error, exits):
    from types import SimpleNamespace

    from omegaconf import OmegaConf

    from sweeps import runner
    from sweeps.analysis import report
    from sweeps.write_queue import StoreFull

    def report_sweep(*args, **kwargs):
        raise error

    monkeypatch.setattr(report, "report_sweep", report_sweep)
    plan = SimpleNamespace(cfg=OmegaConf.create({"sweep": {"name": "smoke"}, "analysis": {}}))
    tracking = SimpleNamespace(uri="sqlite:///x.db", parent_run_id="p")
    if exits:
        with pytest.raises(StoreFull, match="disk filled up while writing the report"):
            runner.print_report(plan, tracking, tmp_path)
    else:
        runner.print_report(plan, tracking, tmp_path)
        assert capsys.readouterr().err.startswith("analysis failed: ValueError")
