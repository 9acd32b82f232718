from __future__ import annotations

import pytest
from ray.tune.search.sample import Categorical, Float

from sweeps.errors import SweepConfigError
from sweeps.space import (
    build_param_space,
    design_of,
    flatten_space,
    parse_expression,
    to_domain,
    trial_overrides,
)


def domain(expression: str, search: str = "grid"):
    return to_domain(parse_expression("optim.lr", expression), search)


@pytest.mark.parametrize(
    ("expression", "values"),
    [
        ("choice(0.1,0.01)", ["0.1", "0.01"]),
        ("0.1,0.01,0.001", ["0.1", "0.01", "0.001"]),
        ("range(1,5)", ["1", "2", "3", "4"]),
        ("range(16,65,16)", ["16", "32", "48", "64"]),
        ("choice(mlp,cnn)", ["mlp", "cnn"]),
        ("choice(true,false)", ["True", "False"]),
    ],
)
def test_discrete_sweeps_become_grid_axes(expression, values):
    assert domain(expression) == {"grid_search": values}


def test_discrete_sweeps_become_choices_under_random_search():
    result = domain("choice(1,2,3)", search="random")
    assert isinstance(result, Categorical)
    assert result.categories == ["1", "2", "3"]


def test_interval_is_uniform():
    result = domain("interval(0.0,0.5)")
    assert isinstance(result, Float)
    assert (result.lower, result.upper) == (0.0, 0.5)
    assert type(result.get_sampler()).__name__ == "_Uniform"


def test_log_tagged_interval_is_loguniform():
    result = domain("tag(log, interval(1e-4,1e-1))")
    assert isinstance(result, Float)
    assert (result.lower, result.upper) == (1e-4, 1e-1)
    assert type(result.get_sampler()).__name__ == "_LogUniform"


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("choice(0.1,", "malformed sweep expression"),
        ("0.1", "single value, not a sweep"),
        ("interval(1.0,0.5)", "low < high"),
        ("tag(log, interval(0,1))", "low > 0"),
    ],
)
def test_bad_expressions_name_the_key_and_the_problem(expression, message):
    with pytest.raises(SweepConfigError, match=message) as info:
        domain(expression)
    assert "sweep.space.optim.lr" in str(info.value)


def test_seeds_are_a_grid_axis_and_cannot_be_swept_in_the_space():
    space = build_param_space({"optim.lr": "choice(0.1,0.01)"}, [0, 1, 2])
    assert space["seed"] == {"grid_search": [0, 1, 2]}
    with pytest.raises(SweepConfigError, match="sweep.seeds"):
        build_param_space({"seed": "choice(1,2)"}, [0])
    with pytest.raises(SweepConfigError, match="empty"):
        build_param_space({}, [])


def test_flatten_nested_space_and_lists():
    flat = flatten_space({"optim": {"lr": "choice(0.1,0.01)"}, "model": {"hidden": [16, 64]}})
    assert flat == {"optim.lr": "choice(0.1,0.01)", "model.hidden": "choice(16,64)"}
    with pytest.raises(SweepConfigError, match="sweep.space.optim.lr"):
        flatten_space({"optim": {"lr": 0.1}})


def test_trial_overrides_and_design_exclude_nothing_but_the_seed():
    config = {"optim.lr": "0.1", "model": "mlp", "seed": 3}
    assert trial_overrides(config) == ["model=mlp", "optim.lr=0.1", "seed=3"]
    assert design_of(config) == "model=mlp,optim.lr=0.1"
    assert design_of({"seed": 1}) == "default"
