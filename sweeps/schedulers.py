"""Trial schedulers whose budget accounts for a trial's final report."""

from __future__ import annotations

from ray.tune.schedulers import ASHAScheduler


def asha(max_epochs: int, grace_period: int = 1, reduction_factor: float = 2) -> ASHAScheduler:
    """ASHA (Li et al., 2020, "A System for Massively Parallel Hyperparameter Tuning") over epochs.

    A trial reports once per epoch and once more after its task's final evaluation, so its budget
    is ``max_epochs + 1`` reports. With ``max_t = max_epochs`` ASHA would stop every surviving trial
    at its last epoch, before the final evaluation; a trial is KILLED only when ASHA stops it early.
    """
    return ASHAScheduler(
        time_attr="training_iteration",
        max_t=int(max_epochs) + 1,
        grace_period=int(grace_period),
        reduction_factor=reduction_factor,
    )
