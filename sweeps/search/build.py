"""``sweep.search`` → Tune's search algorithm, and the checks it needs before Ray starts."""

from __future__ import annotations

import importlib.util
from typing import Any

from omegaconf import DictConfig

from sweeps.errors import SweepConfigError
from sweeps.search import SEARCHERS
from sweeps.search.dimensions import dimensions

SEARCHES = ("grid", "random", *SEARCHERS)
PACKAGES = {"optuna": ("optuna",), "bohb": ("hpbandster", "ConfigSpace")}
HYPERBAND_BOHB = "sweeps.schedulers.hyperband_bohb"
PBT = "sweeps.schedulers.pbt"


def scheduler_target(cfg: DictConfig) -> str:
    return str(cfg.scheduler.get("_target_", ""))


def check_search(cfg: DictConfig, space: dict[str, str]) -> None:
    """``sweep.search`` is known, its packages are installed, its scheduler fits, its space converts."""
    search, target = str(cfg.sweep.search), scheduler_target(cfg)
    if search not in SEARCHES:
        raise SweepConfigError(f"sweep.search must be one of {', '.join(SEARCHES)}, got {search!r}")
    if (search == "bohb") != (target == HYPERBAND_BOHB):
        raise SweepConfigError("sweep.search=bohb and scheduler=hyperband_bohb go together "
                               f"(BOHB learns from HyperBand's budgets); got search={search}, scheduler {target}")
    if search not in SEARCHERS:
        return
    missing = [p for p in PACKAGES[search] if importlib.util.find_spec(p) is None]
    if missing:
        raise SweepConfigError(f"sweep.search={search} needs {', '.join(missing)}: pip install -e '.[search]'")
    if target not in ("ray.tune.schedulers.FIFOScheduler", HYPERBAND_BOHB):
        raise SweepConfigError(f"sweep.search={search} runs every seed of a configuration to the end "
                               f"to tell the searcher their mean: use scheduler=fifo, not {target}")
    dimensions(space)


def is_searched(cfg: DictConfig) -> bool:
    """Whether a searcher proposes the configurations (``sweep.num_samples`` counts them)."""
    return str(cfg.sweep.search) in SEARCHERS


def search_algorithm(cfg: DictConfig, space: dict[str, str], max_concurrent: int) -> Any:
    """The Tune search algorithm: a searcher wrapped so that seeds are repeats."""
    from ray.tune.search import ConcurrencyLimiter

    from sweeps.search.distinct import DistinctProposals
    from sweeps.search.repeats import BudgetSeedRepeater, SeedRepeater

    dims, seeds = dimensions(space), list(cfg.sweep.seeds)
    metric, mode, seed = str(cfg.sweep.metric), str(cfg.sweep.mode), int(cfg.sweep.search_seed)
    if str(cfg.sweep.search) == "optuna":
        from sweeps.search.optuna_space import optuna_searcher

        proposals = DistinctProposals(optuna_searcher(dims, metric, mode, seed, int(cfg.sweep.num_samples)))
        searcher = SeedRepeater(proposals, seeds)
        return ConcurrencyLimiter(searcher, max_concurrent) if max_concurrent > 0 else searcher
    from sweeps.search.bohb_space import bohb_searcher

    # HyperBandForBOHB sends pause notices to the outermost searcher: no ConcurrencyLimiter here,
    # TuneBOHB limits the configurations it runs at once itself.
    inner = bohb_searcher(dims, metric, mode, seed)
    if max_concurrent > 0:
        inner.set_max_concurrency(max(1, -(-max_concurrent // len(seeds))))
    return BudgetSeedRepeater(inner, seeds)


def is_pbt(cfg: DictConfig) -> bool:
    return scheduler_target(cfg) == PBT


def check_pbt(cfg: DictConfig, space: dict[str, str]) -> None:
    """PBT clones a trial's weights from its checkpoint and mutates the swept keys: the task must
    resume from the sweep's checkpoints, the space must have something to mutate, and trials must
    be single-process (a Ray Train trial's checkpoints are its workers')."""
    if not is_pbt(cfg):
        return
    from hydra._internal.utils import _locate

    if str(cfg.sweep.search) in SEARCHERS:
        raise SweepConfigError(f"scheduler=pbt searches by itself: use sweep.search=grid or random, "
                               f"not {cfg.sweep.search}")
    if not space:
        raise SweepConfigError("scheduler=pbt mutates the keys of sweep.space, and it is empty")
    target = str(cfg.task.get("_target_", ""))
    if not getattr(_locate(target), "resumes_from_checkpoints", False):
        raise SweepConfigError(f"scheduler=pbt needs a task that writes and resumes from checkpoints; "
                               f"{target} does not (its class has no resumes_from_checkpoints = True)")
    if int(cfg.resources.workers) > 1:
        raise SweepConfigError("scheduler=pbt runs single-process trials only: set resources.workers=1")
