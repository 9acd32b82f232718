"""Hydra sweep expressions → each searcher's space, one test per expression kind."""

from __future__ import annotations

import ConfigSpace as CS
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from sweeps.errors import SweepConfigError
from sweeps.search.bohb_space import bohb_space
from sweeps.search.dimensions import CategoricalDim, FloatDim, IntDim, dimension, dimensions
from sweeps.search.optuna_space import optuna_distributions

KINDS = {
    "optim.lr": "interval(0.0,0.5)",
    "optim.weight_decay": "tag(log, interval(1e-4,1e-1))",
    "model.hidden": "range(16,65,16)",
    "model.depth": "range(1,4)",
    "model": "choice(mlp,cnn)",
    "data.fraction": "range(0,1,0.25)",
}


def test_each_expression_kind_becomes_its_dimension():
    dims = dimensions(KINDS)
    assert dims["optim.lr"] == FloatDim(0.0, 0.5, log=False)
    assert dims["optim.weight_decay"] == FloatDim(1e-4, 1e-1, log=True)
    assert dims["model.hidden"] == IntDim(16, 64, step=16)
    assert dims["model.hidden"].values == [16, 32, 48, 64]
    assert dims["model.depth"] == IntDim(1, 3, step=1)
    assert dims["model"] == CategoricalDim(("mlp", "cnn"))
    assert dims["data.fraction"] == CategoricalDim(("0.0", "0.25", "0.5", "0.75"))  # not integers
    assert dimension("x", "range(10,0,-3)") == IntDim(1, 10, step=3)


def test_optuna_distributions_keep_bounds_log_and_step():
    dists = optuna_distributions(dimensions(KINDS))
    assert dists["optim.lr"] == FloatDistribution(0.0, 0.5)
    assert dists["optim.weight_decay"] == FloatDistribution(1e-4, 1e-1, log=True)
    assert dists["model.hidden"] == IntDistribution(16, 64, step=16)
    assert dists["model.depth"] == IntDistribution(1, 3)
    assert dists["model"] == CategoricalDistribution(["mlp", "cnn"])
    assert dists["data.fraction"] == CategoricalDistribution(["0.0", "0.25", "0.5", "0.75"])


def test_bohb_space_keeps_bounds_and_log_and_encodes_stepped_ranges_as_categories():
    space = bohb_space(dimensions(KINDS), seed=0)
    lr, wd = space["optim.lr"], space["optim.weight_decay"]
    assert isinstance(lr, CS.UniformFloatHyperparameter) and (lr.lower, lr.upper, lr.log) == (0.0, 0.5, False)
    assert isinstance(wd, CS.UniformFloatHyperparameter) and (wd.lower, wd.upper, wd.log) == (1e-4, 1e-1, True)
    depth = space["model.depth"]
    assert isinstance(depth, CS.UniformIntegerHyperparameter) and (depth.lower, depth.upper) == (1, 3)
    assert list(space["model.hidden"].choices) == [16, 32, 48, 64]  # hpbandster has no ordinals
    assert list(space["model"].choices) == ["mlp", "cnn"]
    sample = dict(space.sample_configuration())
    assert sample["model.hidden"] in (16, 32, 48, 64) and 1e-4 <= sample["optim.weight_decay"] <= 1e-1


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("range(5,5)", r"no values \(an empty range\)"),
        ("interval(1.0,0.5)", "low < high"),
        ("tag(log, interval(0,1))", "low > 0"),
        ("0.1", "not a sweep"),
    ],
)
def test_bad_dimensions_name_the_key(expression, message):
    with pytest.raises(SweepConfigError, match=message) as info:
        dimension("optim.lr", expression)
    assert "sweep.space.optim.lr" in str(info.value)


def test_a_searcher_needs_a_space():
    with pytest.raises(SweepConfigError, match="sweep.space is empty"):
        dimensions({})
