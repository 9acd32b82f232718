"""Stops a sweep whose ``sweep.metric`` its task does not report, as soon as a trial shows it.

The check runs on a trial's final report, the first moment a report must hold the metric: a study
may rank by a score that only the final report carries (``embedding_base`` ranks by the STS-B test
Spearman, evaluated once after training), so an epoch report without the metric proves nothing.
"""

from __future__ import annotations

from typing import Any

from ray.tune import Callback
from ray.tune.experiment import Trial
from ray.tune.utils import flatten_dict

from sweeps.space import SEED_KEY, design_of
from sweeps.tracking import FINAL_KEY, NOT_METRICS

# The problem the check found in this driver, read by the runner after Tune stops: on a resumed
# sweep Tune runs the callback it unpickles from its state, not the runner's instance.
_found: list[str] = []


class MissingMetric(Exception):
    """Raised inside Tune to stop the sweep; the runner turns it into one error line."""


class MetricCheck(Callback):
    """A Tune callback: the first final report without ``sweep.metric`` stops the sweep."""

    def __init__(self, metric: str) -> None:
        self.metric = metric

    def on_trial_result(self, iteration: int, trials: list[Trial], trial: Trial, result: dict, **info: Any) -> None:
        flat = flatten_dict(result)
        if FINAL_KEY not in flat or self.metric in flat:
            return
        reported = sorted(k for k, v in flat.items()
                          if k not in NOT_METRICS and not k.startswith("config/") and isinstance(v, int | float) and not isinstance(v, bool))
        sampled = dict(trial.config)
        _found.append(f"sweep.metric '{self.metric}' is not reported (trial {design_of(sampled)} "
                      f"seed={sampled.get(SEED_KEY, '')}); the task reports: {', '.join(reported)}")
        raise MissingMetric(_found[-1])


def missing_metric() -> str | None:
    """The problem a ``MetricCheck`` of this process stopped the sweep for, if any (then cleared)."""
    problem = _found[-1] if _found else None
    _found.clear()
    return problem
