"""The typed ``sweep`` and ``resources`` settings: checked before Ray starts, one line per problem.

Types come from OmegaConf's structured configs (a string where an int belongs, a float seed, a bare
number where a list belongs are refused by OmegaConf itself); the ranges and relations that types
cannot say are checked here.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from sweeps.errors import SweepConfigError

MAX_SEED = 2**32 - 1  # numpy's and Lightning's seed range
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


@dataclass
class SweepSettings:
    """``sweep.*`` (see ``conf/sweep.yaml`` for the meaning of each field)."""

    name: str = "default"
    metric: str = "val_acc"
    mode: str = "max"
    seeds: list[int] = field(default_factory=lambda: [0])
    space: Any = field(default_factory=dict)
    search: str = "grid"
    search_seed: int = 0
    num_samples: int = 1
    max_concurrent: int = 0
    max_failures: int = 1
    save_state_s: float = 2.0
    max_trials: int = 10_000
    reuse_actors: bool = True
    tensorboard: bool = False
    verbose: int = 1
    soup: str = "none"


@dataclass
class ResourceSettings:
    """``resources.*``: per worker; ``workers`` > 1 runs a trial through Ray Train."""

    workers: int = 1
    cpu: float = 1.0
    gpu: float = 0.0


def typed(
    node: Any, schema: type, prefix: str, error: type[Exception] = SweepConfigError
) -> Any:
    """``node`` merged into ``schema``: a wrong type or an unknown key is one ``error`` naming it."""
    try:
        return OmegaConf.merge(OmegaConf.structured(schema), node or {})
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", "") or _failing_key(schema, node)
        reason = str(exc).strip().splitlines()[0]
        raise error(f"{prefix}.{key}: {reason}" if key else f"{prefix}: {reason}") from exc


def _failing_key(schema: type, node: Any) -> str:
    """The first top-level key whose value alone fails the merge (a list given for a mapping, or
    a mapping for a list: OmegaConf names no key then)."""
    for key, value in dict(node or {}).items():
        try:
            OmegaConf.merge(OmegaConf.structured(schema), {key: value})
        except OmegaConfBaseException:
            return str(key)
    return ""


def check_sweep(cfg: DictConfig) -> None:
    """Every ``sweep.*`` value has its type and a meaningful range."""
    if not OmegaConf.is_list(cfg.sweep.get("seeds")):
        raise SweepConfigError(
            f"sweep.seeds must be a list of integers, e.g. [0,1,2], got {cfg.sweep.get('seeds')!r}"
        )
    sweep = typed(cfg.sweep, SweepSettings, "sweep")
    if sweep.mode not in ("min", "max"):
        raise SweepConfigError(f"sweep.mode must be 'min' or 'max', got {sweep.mode!r}")
    if not NAME.match(sweep.name) or sweep.name in (".", ".."):
        raise SweepConfigError(
            f"sweep.name must be a plain name (letters, digits, _ . + -, not starting with '.'), "
            f"got {sweep.name!r}"
        )
    if not sweep.seeds:
        raise SweepConfigError("sweep.seeds is empty: give at least one seed")
    bad = [s for s in sweep.seeds if not 0 <= s <= MAX_SEED]
    if bad:
        raise SweepConfigError(f"sweep.seeds must lie in [0, {MAX_SEED}], got {bad[0]}")
    if len(set(sweep.seeds)) < len(sweep.seeds):
        raise SweepConfigError(f"sweep.seeds has duplicates: {list(sweep.seeds)}")
    for key, low in (("num_samples", 1), ("max_concurrent", 0), ("max_failures", -1), ("max_trials", 1)):
        if getattr(sweep, key) < low:
            raise SweepConfigError(f"sweep.{key} must be at least {low}, got {getattr(sweep, key)}")
    if sweep.save_state_s < 0:
        raise SweepConfigError(f"sweep.save_state_s must be at least 0, got {sweep.save_state_s}")
    if sweep.verbose not in (0, 1, 2, 3):
        raise SweepConfigError(f"sweep.verbose must be 0, 1, 2 or 3, got {sweep.verbose}")


def is_distributed(cfg: DictConfig) -> bool:
    """A trial runs through Ray Train when it has several workers or a non-default strategy."""
    return int(cfg.resources.workers) > 1 or str(cfg.strategy.name) != "auto"


def check_resources(cfg: DictConfig, local: bool) -> None:
    """Positive per-worker resources; on the embedded local Ray, no more than this machine has."""
    res = typed(cfg.resources, ResourceSettings, "resources")
    if res.workers < 1:
        raise SweepConfigError(f"resources.workers must be at least 1, got {res.workers}")
    if res.cpu <= 0 and res.gpu <= 0:
        raise SweepConfigError("resources.cpu and resources.gpu are both 0: a trial needs something")
    if res.cpu < 0 or res.gpu < 0:
        raise SweepConfigError(f"resources must not be negative, got cpu={res.cpu} gpu={res.gpu}")
    if not local:
        return  # a remote cluster's size is known only once connected
    cpus, gpus = _local_cpus(cfg), local_gpus()
    if res.cpu * res.workers > cpus:
        raise SweepConfigError(
            f"resources: a trial needs {res.cpu * res.workers:g} CPUs "
            f"({res.workers} worker(s) x {res.cpu:g}); this machine's Ray has {cpus}"
        )
    if res.gpu > 0 and res.gpu * res.workers > gpus:
        raise SweepConfigError(
            f"resources: a trial needs {res.gpu * res.workers:g} GPUs; this machine has {gpus}"
        )


def _local_cpus(cfg: DictConfig) -> int:
    configured = cfg.cluster.get("num_cpus") if "cluster" in cfg else None
    return int(configured) if configured else (os.cpu_count() or 1)


def local_gpus() -> int:
    """NVIDIA GPUs visible here, as Ray counts them (CUDA_VISIBLE_DEVICES, else nvidia-smi)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return len([d for d in visible.split(",") if d.strip() and d.strip() != "-1"])
    if shutil.which("nvidia-smi") is None:
        return 0
    devices = Path("/dev")
    return len(list(devices.glob("nvidia[0-9]*")))


def check_output_dir(path: Path) -> None:
    """The output folder exists or can be made, and is writable."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise SweepConfigError(f"paths.output_dir {path} is not a folder (a file is in the way)") from None
    except OSError as exc:
        raise SweepConfigError(f"paths.output_dir {path} cannot be created: {exc.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise SweepConfigError(f"paths.output_dir {path} is not writable")
