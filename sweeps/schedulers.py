"""Trial schedulers whose budget accounts for a trial's final report."""

from __future__ import annotations

from typing import Any

from ray import tune
from ray.tune.experiment import Trial
from ray.tune.schedulers import (
    ASHAScheduler,
    HyperBandForBOHB,
    PopulationBasedTraining,
    TrialScheduler,
)

from sweeps.search.dimensions import FloatDim, dimension
from sweeps.space import SEED_KEY, parse_expression
from sweeps.tracking import FINAL_KEY


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


def hyperband_bohb(max_epochs: int, reduction_factor: float = 3) -> HyperBandForBOHB:
    """HyperBand as BOHB runs it (Falkner et al., 2018): brackets over epochs, budgets for the
    model. As for ASHA, the budget counts the trial's final report (``max_epochs + 1``)."""
    return HyperBandForBOHB(time_attr="training_iteration", max_t=int(max_epochs) + 1,
                            reduction_factor=reduction_factor)


class SeedKeepingPBT(PopulationBasedTraining):
    """Population-based training (Jaderberg et al., 2017, "Population Based Training of Neural
    Networks") over the sweep's space, as Ray's ``PopulationBasedTraining`` runs it, with three
    changes for this platform: a member keeps its own seed when it clones a better one's weights
    and hyper-parameters (a seed names a population member, as in the analysis), a perturbed
    interval value stays inside its interval, and a trial's final report (its test-set evaluation,
    after the last epoch) is never a perturbation point."""

    def __init__(self, bounds: dict[str, tuple[float, float]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._bounds = bounds

    def _get_new_config(self, trial: Trial, trial_to_clone: Trial) -> tuple[dict, dict]:
        new_config, operations = super()._get_new_config(trial, trial_to_clone)
        for key, (low, high) in self._bounds.items():
            if isinstance(new_config.get(key), float):
                new_config[key] = min(max(new_config[key], low), high)
        if SEED_KEY in trial.config:
            new_config[SEED_KEY] = trial.config[SEED_KEY]
        return new_config, operations

    def on_trial_result(self, tune_controller: Any, trial: Trial, result: dict) -> str:
        if FINAL_KEY in result:
            return TrialScheduler.CONTINUE
        return super().on_trial_result(tune_controller, trial, result)


def pbt(space: dict[str, str], perturbation_interval: int = 1, quantile_fraction: float = 0.25,
        resample_probability: float = 0.25) -> SeedKeepingPBT:
    """PBT whose mutations are the sweep's space: an interval is perturbed (x0.8 / x1.2) or
    resampled, a choice or range moves to a neighbouring value or is resampled. Every
    ``perturbation_interval`` epochs a trial in the bottom ``quantile_fraction`` clones the weights
    (its Lightning checkpoint) and hyper-parameters of one in the top fraction, then explores."""
    mutations: dict[str, Any] = {}
    bounds: dict[str, tuple[float, float]] = {}
    for key, expression in space.items():
        dim = dimension(key, expression)
        if isinstance(dim, FloatDim):
            mutations[key] = tune.loguniform(dim.low, dim.high) if dim.log else tune.uniform(dim.low, dim.high)
            bounds[key] = (dim.low, dim.high)
        else:
            mutations[key] = list(parse_expression(key, expression).sweep_string_iterator())
    return SeedKeepingPBT(bounds, time_attr="training_iteration", perturbation_interval=int(perturbation_interval),
                          hyperparam_mutations=mutations, quantile_fraction=quantile_fraction,
                          resample_probability=resample_probability)
