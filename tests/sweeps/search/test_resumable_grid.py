"""The grid generator resumes in step with the experiment state, not ahead of it."""

from __future__ import annotations

import copy
import json

from ray import tune
from ray.tune.experiment import Experiment

from sweeps.search.resumable_grid import ResumableGrid


def _trainable(config):
    return {"score": config["x"]}


def _generator() -> ResumableGrid:
    return ResumableGrid(seed=0, constant_grid_search=True, max_concurrent=1)


def _experiment(tmp_path) -> Experiment:
    return Experiment("grid", _trainable, config={"x": tune.grid_search([1, 2, 3, 4]),
                                                 "noise": tune.uniform(0, 1)},
                      storage_path=str(tmp_path / "storage"))


def _experiment_state(folder, trials: dict[str, str]) -> None:
    data = [[json.dumps({"trial_id": trial_id, "status": status}), "{}"] for trial_id, status in trials.items()]
    (folder / "experiment_state-2026-12-02_10-00-00.json").write_text(json.dumps({"trial_data": data}))


def test_a_generator_state_ahead_of_the_trials_gives_back_the_lost_ones(tmp_path):
    """The disk filled after the generator's state was saved with trials 2 and 3 handed out, but
    before an experiment state recorded them: Ray's generator would wait for trial 3 forever."""
    initial = _generator()
    restored = copy.deepcopy(initial)  # what tuner.pkl holds
    initial.add_configurations([_experiment(tmp_path)])
    handed_out = []
    for _ in range(4):
        handed_out.append(initial.next_trial())
        initial.on_trial_complete(handed_out[-1].trial_id)
    initial._live_trials = {handed_out[3].trial_id}  # trial 3 was running when the disk filled
    state = tmp_path / "staging"
    state.mkdir()
    initial.save_to_dir(str(state), session_str="2026-12-02_10-00-00")
    _experiment_state(state, {handed_out[0].trial_id: "TERMINATED", handed_out[1].trial_id: "RUNNING"})

    restored.restore_from_dir(str(state))

    assert restored.next_trial() is None, "trial 1 is restored by Tune and still live"
    restored.on_trial_complete(handed_out[1].trial_id)
    again = [restored.next_trial()]
    restored.on_trial_complete(again[0].trial_id)
    again.append(restored.next_trial())
    restored.on_trial_complete(again[1].trial_id)
    assert [t.trial_id for t in again] == [t.trial_id for t in handed_out[2:]]
    assert [t.config for t in again] == [t.config for t in handed_out[2:]], "same grid point, same sample"
    assert restored.next_trial() is None and restored.is_finished()


def test_a_consistent_state_resumes_where_ray_s_own_restore_would(tmp_path):
    initial = _generator()
    restored = copy.deepcopy(initial)
    initial.add_configurations([_experiment(tmp_path)])
    first = initial.next_trial()
    initial.on_trial_complete(first.trial_id)
    second = initial.next_trial()
    state = tmp_path / "staging"
    state.mkdir()
    initial.save_to_dir(str(state), session_str="2026-12-02_10-00-00")
    _experiment_state(state, {first.trial_id: "TERMINATED", second.trial_id: "RUNNING"})

    restored.restore_from_dir(str(state))

    assert restored._live_trials == {second.trial_id}
    restored.on_trial_complete(second.trial_id)
    initial.on_trial_complete(second.trial_id)
    assert restored.next_trial().config == initial.next_trial().config  # the sampled value too
