"""Dimensions → Optuna distributions, and Ray's ``OptunaSearch`` with a TPE sampler.

TPE: Bergstra et al., 2011, "Algorithms for Hyper-Parameter Optimization" (Optuna's ``TPESampler``).
"""

from __future__ import annotations

from typing import Any

from sweeps.search.dimensions import CategoricalDim, Dimension, FloatDim, IntDim

OPTUNA_DEFAULT_STARTUP = 10  # TPESampler's own n_startup_trials


def optuna_distributions(dims: dict[str, Dimension]) -> dict[str, Any]:
    """``{"optim.lr": FloatDistribution(1e-4, 1e-1, log=True), ...}``: an int keeps its step, so a
    proposed value is always one the Hydra range would give."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    def convert(dim: Dimension) -> Any:
        if isinstance(dim, FloatDim):
            return FloatDistribution(dim.low, dim.high, log=dim.log)
        if isinstance(dim, IntDim):
            return IntDistribution(dim.low, dim.high, step=dim.step)
        if isinstance(dim, CategoricalDim):
            return CategoricalDistribution(list(dim.options))
        raise TypeError(dim)

    return {key: convert(dim) for key, dim in dims.items()}


def startup_trials(num_samples: int) -> int:
    """Random configurations before TPE models: Optuna's 10, but at most half a small budget, so
    that ``sweep.num_samples=8`` still has 4 model-based proposals."""
    return max(2, min(OPTUNA_DEFAULT_STARTUP, num_samples // 2))


def optuna_searcher(dims: dict[str, Dimension], metric: str, mode: str, seed: int, num_samples: int) -> Any:
    """Ray's ``OptunaSearch`` over ``dims`` with a seeded TPE sampler. ``constant_liar`` makes TPE
    treat running configurations as bad, so concurrent proposals spread out."""
    import optuna
    from ray.tune.search.optuna import OptunaSearch

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup_trials(num_samples),
                                         constant_liar=True)
    return OptunaSearch(optuna_distributions(dims), metric=metric, mode=mode, sampler=sampler)
