"""A searcher that never proposes a configuration twice (a small discrete space runs out).

TPE may propose a configuration it has already tried; run again, its seeds would repeat the same
design twice. This wrapper asks again instead, telling the searcher the earlier seed-mean for the
repeated proposal (or nothing, while that configuration still runs), and ends the search when
``MAX_ASKS`` proposals in a row were all repeats: a discrete space is then exhausted.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from ray.tune.search import Searcher

MAX_ASKS = 50


def config_key(config: dict[str, Any]) -> str:
    return json.dumps({k: str(v) for k, v in sorted(config.items())})


class DistinctProposals(Searcher):
    """Wraps a searcher so that each configuration it proposes is new; ``searcher`` is the
    attribute Tune follows to save and restore the wrapped searcher."""

    def __init__(self, searcher: Searcher) -> None:
        super().__init__(metric=searcher.metric, mode=searcher.mode)
        self.searcher = searcher
        self._first: dict[str, str] = {}   # config key → the trial id that runs it
        self._means: dict[str, float] = {}  # trial id → the value the searcher was told
        self._alias: dict[str, str] = {}    # trial id → the searcher's id for that proposal

    def suggest(self, trial_id: str) -> dict | str | None:
        for attempt in range(MAX_ASKS):
            asked = trial_id if attempt == 0 else f"{trial_id}~{attempt}"
            config = self.searcher.suggest(asked)
            if not isinstance(config, dict):
                return config
            key = config_key(config)
            earlier = self._first.get(key)
            if earlier is None:
                self._first[key] = trial_id
                self._alias[trial_id] = asked
                return config
            known = self._means.get(earlier)
            self.searcher.on_trial_complete(asked, None if known is None else {self.metric: known})
        print(f"search: {MAX_ASKS} proposals in a row repeated earlier configurations; the space is "
              f"exhausted after {len(self._first)} configurations", file=sys.stderr, flush=True)
        return Searcher.FINISHED

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        self.searcher.on_trial_result(self._alias.get(trial_id, trial_id), result)

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        if result and self.metric in result:
            self._means[trial_id] = result[self.metric]
        self.searcher.on_trial_complete(self._alias.get(trial_id, trial_id), result, error=error)

    def get_state(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "searcher"}

    def set_state(self, state: dict) -> None:
        self.__dict__.update(state)

    def save(self, checkpoint_path: str) -> None:
        self.searcher.save(checkpoint_path)

    def restore(self, checkpoint_path: str) -> None:
        self.searcher.restore(checkpoint_path)

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict, **spec: Any) -> bool:
        return self.searcher.set_search_properties(metric, mode, config, **spec)
