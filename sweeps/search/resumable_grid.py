"""Ray Tune's grid / random-search generator, made to resume in step with the experiment state.

Ray saves the generator's state (``basic-variant-state-*.json``: the trials it has handed out, the
ones still live) and the experiment state (``experiment_state-*.json``: the trials themselves) as
two files of one upload. When only one of them reaches storage (a full disk, a torn copy that
``sweeps/atomic_fs.py`` refuses, a kill between the two), a resume restores a generator that is
ahead of the trials: the trials it handed out since are lost, and the ones it still counts as live
never finish, so with ``max_concurrent`` it hands out nothing more and the sweep waits forever
(ray/tune/search/basic_variant.py ``BasicVariantGenerator.next_trial``, Ray 2.60).

On restore this generator takes the experiment state as the truth: it generates again, from the
same seed and trial-id prefix, every trial the experiment state does not hold (so a lost trial comes
back with its own id and configuration), and counts as live only the restored trials that have not
finished.
"""

from __future__ import annotations

import itertools
import json
import os

from ray.tune.search.basic_variant import BasicVariantGenerator, _TrialIterator
from ray.tune.search.sample import _BackwardsCompatibleNumpyRng

from sweeps.ray_state import newest_experiment_state

_FINISHED = {"TERMINATED", "ERROR"}


class ResumableGrid(BasicVariantGenerator):
    """``BasicVariantGenerator`` (grid and seeded random search) whose restore follows the
    experiment state, not its own possibly newer state file."""

    def __init__(self, *, seed: int, **kwargs) -> None:
        super().__init__(random_state=seed, **kwargs)
        self._seed = seed

    def restore_from_dir(self, dirpath: str) -> None:
        super().restore_from_dir(dirpath)
        trials = restored_trials(dirpath)
        if trials is None or len(self._iterators) != 1 or self._points_to_evaluate:
            return  # nothing to line up with, or a set-up this platform does not make
        self._generate_from(trials)

    def _generate_from(self, trials: dict[str, bool]) -> None:
        saved = self._iterators[0]
        self._random_state = _BackwardsCompatibleNumpyRng(self._seed)
        fresh = _TrialIterator(
            uuid_prefix=saved.uuid_prefix, num_samples=saved.num_samples,
            unresolved_spec=saved.unresolved_spec, constant_grid_search=saved.constant_grid_search,
            points_to_evaluate=[], lazy_eval=False, start=0, random_state=self._random_state,
        )
        held = next_index(trials, saved.uuid_prefix)
        while fresh.counter < held:
            next(fresh)  # a trial the experiment state holds: restored by Tune, not handed out again
        self._iterators = [fresh]
        self._trial_generator = itertools.chain([], fresh)
        self._trial_iter = None
        self._finished = False
        self._live_trials = {trial_id for trial_id, finished in trials.items() if not finished}


def restored_trials(dirpath: str) -> dict[str, bool] | None:
    """Trial id → finished, from the experiment state in ``dirpath`` that Tune restores; None when
    there is none."""
    name = newest_experiment_state(os.listdir(dirpath))
    if name is None:
        return None
    with open(os.path.join(dirpath, name)) as stream:
        state = json.load(stream)
    trials = {}
    for trial_json, _ in state["trial_data"]:
        trial = json.loads(trial_json)
        trials[trial["trial_id"]] = trial["status"] in _FINISHED
    return trials


def next_index(trials: dict[str, bool], prefix: str) -> int:
    """The index of the first trial id past those the experiment state holds."""
    indices = [int(trial_id[len(prefix):]) for trial_id in trials if trial_id.startswith(prefix)]
    return max(indices, default=-1) + 1
