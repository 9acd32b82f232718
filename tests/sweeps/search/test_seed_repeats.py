"""Seeds as repeats: each proposed configuration runs once per seed, the searcher is told the
seed-mean, and the search state survives a save and restore (as Tune does on resume=true).
The searchers are the real ones (Optuna TPE, hpbandster BOHB); only the trials are simulated."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
from optuna.trial import TrialState
from ray.tune.search.search_generator import SearchGenerator

from sweeps.cli import plan_sweep
from sweeps.search.build import search_algorithm

METRIC = "val_acc"


def _plan(tmp_path, *args):
    return plan_sweep(["+experiment=smoke_tpe", f"paths.output_dir={tmp_path}", *args])


def _score(config: dict) -> float:
    """A made-up metric that depends on the configuration and the seed."""
    return round(float(config["optim.lr"]) * 5 + int(config["model.hidden"]) / 100 + 0.01 * config["seed"], 6)


def _design(config: dict) -> tuple:
    return tuple(sorted((k, str(v)) for k, v in config.items() if k != "seed"))


def _study(alg):
    return alg.searcher.searcher._ot_study  # SeedRepeater → DistinctProposals → OptunaSearch


def _run(alg, first: int, count: int) -> dict[str, dict]:
    """Suggest and complete ``count`` trials, in order, ids t<first>..."""
    configs = {}
    for i in range(first, first + count):
        trial_id = f"t{i}"
        configs[trial_id] = alg.suggest(trial_id)
        alg.on_trial_complete(trial_id, {METRIC: _score(configs[trial_id])})
    return configs


def test_each_configuration_runs_once_per_seed_and_the_searcher_learns_the_seed_mean(tmp_path):
    plan = _plan(tmp_path, "sweep.seeds=[0,1,2]", "sweep.num_samples=5")
    alg = search_algorithm(plan.cfg, plan.space, max_concurrent=0)
    configs = _run(alg, 0, plan.num_trials)
    by_design = defaultdict(list)
    for config in configs.values():
        by_design[_design(config)].append(config["seed"])
    assert len(by_design) == 5
    assert all(sorted(seeds) == [0, 1, 2] for seeds in by_design.values())
    told = [t for t in _study(alg).trials if t.state == TrialState.COMPLETE]
    assert len(told) == 5, "one observation per configuration, not per seed"
    for trial in told:
        design = tuple(sorted((k, str(v)) for k, v in trial.params.items()))
        scores = [_score(c) for c in configs.values() if _design(c) == design]
        assert trial.value == pytest.approx(np.mean(scores))
    assert [o["told"] for o in alg.observations()] == pytest.approx([t.value for t in told])


def test_a_small_discrete_space_is_searched_without_repeating_a_configuration(tmp_path):
    plan = _plan(tmp_path, "sweep.space.optim.lr='choice(0.01,0.1)'", "sweep.space.model.hidden='choice(16,32)'",
                 "sweep.num_samples=6")
    alg = search_algorithm(plan.cfg, plan.space, max_concurrent=0)
    designs = []
    for i in range(plan.num_trials):
        config = alg.suggest(f"t{i}")
        if config == "FINISHED":
            break
        designs.append(_design(config))
        alg.on_trial_complete(f"t{i}", {METRIC: _score(config)})
    assert len(set(designs)) == 4 and len(designs) == 4 * 2, "4 configurations x 2 seeds, then the end"


def test_restored_search_continues_and_proposes_no_configuration_twice(tmp_path):
    plan = _plan(tmp_path, "sweep.num_samples=8")
    first = SearchGenerator(search_algorithm(plan.cfg, plan.space, max_concurrent=0))
    before = _run(first.searcher, 0, 5)  # 2 configurations done, the third has 1 of its 2 seeds
    first.searcher.suggest("t5")  # the third's second seed is running when the sweep stops
    state = tmp_path / "state"
    state.mkdir()
    first.save_to_dir(str(state), session_str="s1")

    restored = SearchGenerator(search_algorithm(plan.cfg, plan.space, max_concurrent=0))
    restored.restore_from_dir(str(state))
    restored.searcher.on_trial_complete("t5", {METRIC: 0.5})  # the running trial finishes after the resume
    after = _run(restored.searcher, 6, 10)

    designs_before = {_design(c) for c in before.values()}
    designs_after = [_design(c) for c in after.values()]
    assert not designs_before & set(designs_after), "a restored search proposes nothing it proposed before"
    assert len(set(designs_after)) == 5 and all(designs_after.count(d) == 2 for d in designs_after)
    told = [t for t in _study(restored.searcher).trials if t.state == TrialState.COMPLETE]
    assert len(told) == 8, "the 3 configurations before the restore are still in the searcher's history"
    third = next(o for o in restored.searcher.observations() if o["scores"].get("t5") is not None)
    assert third["told"] == pytest.approx(np.mean([_score(before["t4"]), 0.5]))

    fresh = search_algorithm(plan.cfg, plan.space, max_concurrent=0)
    assert _design(fresh.suggest("x")) == _design(before["t0"]), "without the restore the search would restart"


def test_bohb_hears_each_budget_as_the_mean_over_seeds_that_reached_it(tmp_path):
    plan = plan_sweep(["+experiment=smoke_tpe", f"paths.output_dir={tmp_path}", "sweep.search=bohb",
                       "scheduler=hyperband_bohb"])
    alg = search_algorithm(plan.cfg, plan.space, max_concurrent=0)
    losses = alg.searcher.bohber.losses  # hpbandster stores -metric (mode max) per budget
    a0, a1 = alg.suggest("a0"), alg.suggest("a1")
    assert _design(a0) == _design(a1) and (a0["seed"], a1["seed"]) == (0, 1)
    alg.on_trial_result("a0", {METRIC: 0.5, "hyperband_info": {"budget": 1}})
    assert not losses.get(1.0), "nothing told before every seed reached the budget"
    alg.on_trial_result("a1", {METRIC: 0.7, "hyperband_info": {"budget": 1}})
    assert losses[1.0] == pytest.approx([-0.6])
    alg.on_trial_result("a0", {METRIC: 0.9, "hyperband_info": {"budget": 3}})
    alg.on_trial_complete("a1", {METRIC: 0.7})  # HyperBand stopped seed 1 before budget 3
    assert losses[3.0] == pytest.approx([-0.9])
    alg.on_pause("a0")  # HyperBandForBOHB's pause notice reaches BOHB as the configuration's
    assert alg.searcher.paused == {"a0"}
