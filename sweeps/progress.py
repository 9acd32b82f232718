"""One terminal line per trial event and a progress count with an ETA (Ray Tune's own tables and
result boxes stay available at ``sweep.verbose=2``)."""

from __future__ import annotations

import time
from typing import Any

from ray.tune import Callback
from ray.tune.experiment import Trial

from modules.contract.keys import FINAL_KEY
from sweeps.space import SEED_KEY, design_of


class ProgressLines(Callback):
    """Prints ``[done/total] event design seed=s metric=... · ETA`` as trials start and end."""

    def __init__(self, total: int, metric: str) -> None:
        self.total, self.metric = total, metric
        self.started = time.monotonic()
        self.done = 0

    def on_trial_start(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        self._line("started", trial)

    def on_trial_recover(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        self._line("failed, retrying from its last checkpoint", trial)

    def on_trial_complete(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        self.done += 1
        result = trial.last_result or {}
        finished = FINAL_KEY in result
        value = result.get(self.metric)
        shown = f" {self.metric}={value:.4g}" if isinstance(value, int | float) else ""
        self._line(("finished" if finished else "stopped by the scheduler") + shown, trial, eta=True)

    def on_trial_error(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        self.done += 1
        self._line("FAILED (see its child run's 'error' tag)", trial, eta=True)

    def _line(self, event: str, trial: Trial, eta: bool = False) -> None:
        sampled = dict(trial.config)
        where = f"{design_of(sampled)} seed={sampled.get(SEED_KEY, '')}"
        tail = f" · {self._eta()}" if eta else ""
        print(f"[{self.done}/{self.total}] {where}: {event}{tail}", flush=True)

    def _eta(self) -> str:
        if not self.done or self.done >= self.total:
            return f"{self.done}/{self.total} done"
        left = (time.monotonic() - self.started) / self.done * (self.total - self.done)
        return f"ETA {int(left // 60)} min {int(left % 60):02d} s"
