"""Seeds as repeats: each proposed configuration runs once per seed; the searcher sees the mean.

Built on Ray's ``Repeater``, whose groups (proposal → its seed trials) Tune saves with the sweep,
so a resumed sweep finishes the groups it had started. Two places where ``Repeater`` does not fit
as is: it numbers repeats 0..n-1 (here they are the sweep's seeds, under the ``seed`` key every
other part of the platform reads), and it passes a searcher only completed trials, while BOHB
learns from each budget's intermediate results (:class:`BudgetSeedRepeater`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from ray.tune.search import Searcher
from ray.tune.search.repeater import TRIAL_INDEX, Repeater

from sweeps.space import SEED_KEY


def plain(value: Any) -> Any:
    """A searcher's numpy scalar as a Python value (it becomes a Hydra override and an MLflow tag)."""
    return value.item() if isinstance(value, np.generic) else value


class SeedRepeater(Repeater):
    """Runs each configuration the wrapped searcher proposes once per seed of ``sweep.seeds`` and
    tells it the seed-mean of the target metric when the last seed finishes (Ray's ``Repeater``)."""

    def __init__(self, searcher: Searcher, seeds: list[int]) -> None:
        super().__init__(searcher, repeat=len(seeds), set_index=True)
        self.seeds = [int(s) for s in seeds]

    def suggest(self, trial_id: str) -> dict | str | None:
        config = super().suggest(trial_id)
        if not isinstance(config, dict):
            return config
        index = config.pop(TRIAL_INDEX)
        return {**{k: plain(v) for k, v in config.items()}, SEED_KEY: self.seeds[index]}

    def observations(self) -> list[dict[str, Any]]:
        """Every proposal so far: its config, its seed scores (trial id → metric, None while
        running) and the mean the searcher was told (None until every seed finished)."""
        return [{"config": dict(group.config), "scores": dict(group._trials),
                 "told": float(np.nanmean(group.scores())) if group.finished_reporting() else None}
                for group in self._groups]


class BudgetSeedRepeater(SeedRepeater):
    """:class:`SeedRepeater` for BOHB under ``HyperBandForBOHB``: a result at a budget reaches BOHB
    as the mean over the configuration's seeds at that budget, once every seed has reported it or
    stopped before it. The scheduler's pause notices reach BOHB per configuration."""

    def __init__(self, searcher: Searcher, seeds: list[int]) -> None:
        super().__init__(searcher, seeds)
        self._budget_scores: dict[tuple[str, float], dict[str, float]] = {}
        self._told: set[tuple[str, float]] = set()
        self._ended: set[str] = set()
        self._paused: set[str] = set()

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        budget = (result.get("hyperband_info") or {}).get("budget")
        group = self._trial_id_to_group.get(trial_id)
        if budget is None or group is None or self.searcher.metric not in result:
            return
        key = (group.primary_trial_id, float(budget))
        self._budget_scores.setdefault(key, {})[trial_id] = float(result[self.searcher.metric])
        self._tell_ready(group)

    def on_trial_complete(self, trial_id: str, result: dict | None = None, **kwargs: Any) -> None:
        self._ended.add(trial_id)
        group = self._trial_id_to_group.get(trial_id)
        if group is not None:
            self._tell_ready(group)
        super().on_trial_complete(trial_id, result, **kwargs)

    def _tell_ready(self, group: Any) -> None:
        """Tell BOHB each budget of ``group`` that every seed has reached or stopped before."""
        members = list(group._trials)
        for (primary, budget), scores in sorted(self._budget_scores.items()):
            if primary != group.primary_trial_id or (primary, budget) in self._told:
                continue
            waiting = [t for t in members if t not in scores and t not in self._ended]
            if waiting or not group.full():
                continue
            self._told.add((primary, budget))
            mean = float(np.mean(list(scores.values())))
            if math.isfinite(mean):
                self.searcher.on_trial_result(primary, {self.searcher.metric: mean,
                                                        "hyperband_info": {"budget": budget}})

    def on_pause(self, trial_id: str) -> None:
        self._paused.add(trial_id)
        group = self._trial_id_to_group.get(trial_id)
        if group is not None and all(t in self._paused or t in self._ended for t in group._trials):
            self.searcher.on_pause(group.primary_trial_id)

    def on_unpause(self, trial_id: str) -> None:
        self._paused.discard(trial_id)
        group = self._trial_id_to_group.get(trial_id)
        if group is not None:
            self.searcher.on_unpause(group.primary_trial_id)
