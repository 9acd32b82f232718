"""Dimensions → a ConfigSpace space, and Ray's ``TuneBOHB``.

BOHB: Falkner et al., 2018, "BOHB: Robust and Efficient Hyperparameter Optimization at Scale"
(hpbandster's config generator, run by Ray's ``TuneBOHB`` under ``HyperBandForBOHB``).
"""

from __future__ import annotations

from typing import Any

from sweeps.search.dimensions import CategoricalDim, Dimension, FloatDim, IntDim


def bohb_space(dims: dict[str, Dimension], seed: int) -> Any:
    """A ConfigSpace ``ConfigurationSpace``. hpbandster refuses ordinal parameters, so an int range
    with a step > 1 becomes a categorical of its values (its order is not modelled)."""
    import ConfigSpace as CS

    def convert(key: str, dim: Dimension) -> Any:
        if isinstance(dim, FloatDim):
            return CS.UniformFloatHyperparameter(key, lower=dim.low, upper=dim.high, log=dim.log)
        if isinstance(dim, IntDim) and dim.step == 1:
            return CS.UniformIntegerHyperparameter(key, lower=dim.low, upper=dim.high)
        if isinstance(dim, IntDim):
            return CS.CategoricalHyperparameter(key, choices=dim.values)
        if isinstance(dim, CategoricalDim):
            return CS.CategoricalHyperparameter(key, choices=list(dim.options))
        raise TypeError(dim)

    space = CS.ConfigurationSpace(seed=seed)
    space.add([convert(key, dim) for key, dim in dims.items()])
    return space


def bohb_searcher(dims: dict[str, Dimension], metric: str, mode: str, seed: int) -> Any:
    """Ray's ``TuneBOHB`` over ``dims``. Keys keep their dots: TuneBOHB nests on ``/`` only."""
    from ray.tune.search.bohb import TuneBOHB

    return TuneBOHB(bohb_space(dims, seed), metric=metric, mode=mode, seed=seed)
