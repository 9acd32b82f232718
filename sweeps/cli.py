"""The command line: split plain overrides from sweep expressions, compose, validate, run.

``python sweep.py +experiment=smoke optim.lr=0.1,0.01 "sweep.space.model.hidden='choice(16,64)'"``

Arguments are Hydra overrides, parsed by Hydra's own parser. A sweep expression on a key
(``optim.lr=0.1,0.01``, ``model.hidden='range(16,65,16)'`` unquoted) adds that key to the search
space, as Hydra's ``--multirun`` would; ``sweep.space.<key>=<expression>`` sets one entry of the
space. Everything is checked before Ray starts; bad input is one line on stderr and exit code 2.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from hydra._internal.utils import _locate  # Hydra's own importer, without its error logging
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override, OverrideType
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from ray.tune import Tuner

from sweeps import storage
from sweeps.config import compose_config, resolve
from sweeps.errors import SweepConfigError
from sweeps.plan import SweepPlan
from sweeps.soup.cook import CHOICES as SOUP_CHOICES
from sweeps.space import SEED_KEY, build_param_space, flatten_space, parse_expression
from sweeps.trial import trial_config

SPACE_PREFIX = "sweep.space."
USAGE = """usage: python sweep.py [--dry-run] [HYDRA_OVERRIDE ...]
  +experiment=NAME            a preset from conf/experiment/
  key=value                   any config value, as in Hydra (optim.lr=0.01, model=mlp)
  key=a,b | key='range(..)'   add key to the search space (Hydra's sweep grammar)
  "sweep.space.key='choice(a,b)'"  set one search-space entry
  resume=true                 continue the interrupted sweep of the same sweep.name
  --dry-run                   print the plan (config, space, trial count) and exit"""


def split_overrides(args: list[str]) -> tuple[list[str], dict[str, str]]:
    """Hydra overrides → (plain overrides for compose, {key: sweep expression})."""
    parser = OverridesParser.create()
    plain, space = [], {}
    for arg in args:
        try:
            override = parser.parse_override(arg)
        except HydraException as exc:
            raise SweepConfigError(f"cannot parse override {arg!r}: {str(exc).strip().splitlines()[0]}") from exc
        key = override.get_key_element().lstrip("+~")
        if key.startswith(SPACE_PREFIX) and override.type != OverrideType.DEL:
            space[key[len(SPACE_PREFIX):]] = _expression_text(override)
        elif override.is_sweep_override():
            if override.type != OverrideType.CHANGE:
                raise SweepConfigError(f"{arg!r}: only an existing key can be swept; add it to the preset first")
            space[key] = _expression_text(override)
        else:
            plain.append(arg)
    return plain, space


def _expression_text(override: Override) -> str:
    value = override.value()
    return value if isinstance(value, str) else override.input_line.split("=", 1)[1]


def plan_sweep(args: list[str]) -> SweepPlan:
    """Compose and validate everything a sweep needs; raises SweepConfigError on bad input."""
    plain, cli_space = split_overrides(args)
    first = resolve(compose_config(plain))
    output_dir = Path(str(first.paths.output_dir)).expanduser().resolve()
    base = [*plain, f"paths.output_dir={output_dir}"]
    if not storage.is_uri(str(first.storage.path)) and "storage.path" in _keys(plain):
        base.append(f"storage.path={Path(str(first.storage.path)).expanduser().resolve()}")
    cfg = resolve(compose_config(base))
    _check_sweep_settings(cfg)
    space = {**flatten_space(OmegaConf.to_container(cfg.sweep.space) or {}), **cli_space}
    param_space = build_param_space(space, list(cfg.sweep.seeds), str(cfg.sweep.search))
    _check_space_keys(base, space)
    first_trial = trial_config(base, {SEED_KEY: int(cfg.sweep.seeds[0])})
    _check_targets(first_trial)
    command = " ".join(["python sweep.py", *map(shlex.quote, args)])
    plan = SweepPlan(cfg, base, space, param_space, command=command)
    plan.resuming = _resuming(cfg.resume, plan.state_path)
    return plan


def _resuming(resume: object, state_path: str) -> bool:
    """resume=true needs restorable state; resume=auto restores when there is some."""
    if resume in (False, None, "false"):
        return False
    if resume not in (True, "true", "auto"):
        raise SweepConfigError(f"resume must be true, false or auto, got {resume!r}")
    can = Tuner.can_restore(state_path)
    if resume in (True, "true") and not can:
        raise SweepConfigError(f"resume=true, but there is no sweep state to resume at {state_path}")
    return can


def _keys(overrides: list[str]) -> set[str]:
    return {o.split("=", 1)[0].lstrip("+~") for o in overrides}


def _check_sweep_settings(cfg: DictConfig) -> None:
    if cfg.sweep.mode not in ("min", "max"):
        raise SweepConfigError(f"sweep.mode must be 'min' or 'max', got {cfg.sweep.mode!r}")
    if not str(cfg.sweep.name).strip() or "/" in str(cfg.sweep.name):
        raise SweepConfigError(f"sweep.name must be a non-empty name without '/', got {cfg.sweep.name!r}")
    if int(cfg.sweep.num_samples) < 1:
        raise SweepConfigError(f"sweep.num_samples must be at least 1, got {cfg.sweep.num_samples}")
    _check_soup(cfg)
    _check_analysis(cfg)


def _check_analysis(cfg: DictConfig) -> None:
    """The analysis settings (the sanity contract included) are checked before any trial runs."""
    from sweeps.analysis.settings import AnalysisSettings

    try:
        AnalysisSettings.from_config(cfg.get("analysis"))
    except ValueError as exc:
        raise SweepConfigError(str(exc)) from exc


def _check_soup(cfg: DictConfig) -> None:
    """``sweep.soup`` names a recipe, and then the task must be able to score weights."""
    choice = str(cfg.sweep.get("soup") or "none")
    if choice not in SOUP_CHOICES:
        raise SweepConfigError(f"sweep.soup must be one of {', '.join(SOUP_CHOICES)}, got {choice!r}")
    target = str(cfg.task.get("_target_", ""))
    if choice != "none" and not callable(getattr(_locate(target), "evaluate_weights", None)):
        raise SweepConfigError(
            f"sweep.soup={choice}: the task {target} has no evaluate_weights, so it cannot score a soup"
        )


def _check_space_keys(base: list[str], space: dict[str, str]) -> None:
    """Compose once per discrete option (and once per interval bound): Hydra rejects unknown keys."""
    for key, expression in space.items():
        override = parse_expression(key, expression)
        values = list(override.sweep_string_iterator()) if not _is_interval(override) else [
            repr(float(override.value().start))
        ]
        for value in values:
            try:
                compose_config([*base, f"{key}={value}"])
            except SweepConfigError as exc:
                raise SweepConfigError(f"sweep.space.{key}={value}: {exc}") from exc


def _is_interval(override: Override) -> bool:
    return type(override.value()).__name__ == "IntervalSweep"


def _check_targets(cfg: DictConfig) -> None:
    """Every ``_target_`` in the config must import (an unknown class fails here, not in a trial)."""
    for path, target in _targets(cfg):
        try:
            _locate(target)
        except Exception as exc:  # noqa: BLE001 - any import failure is a config error here
            raise SweepConfigError(f"{path}._target_: cannot import {target!r} ({type(exc).__name__})") from exc


def _targets(node: object, path: str = "") -> list[tuple[str, str]]:
    found = []
    if isinstance(node, DictConfig):
        if "_target_" in node:
            found.append((path or "<root>", str(node._target_)))
        for key in node:
            found.extend(_targets(node[key], f"{path}.{key}" if path else str(key)))
    return found


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in args):
        print(USAGE)
        return 0
    dry_run = "--dry-run" in args
    args = [a for a in args if a != "--dry-run"]
    try:
        plan = plan_sweep(args)
        if dry_run:
            print(_describe(plan))
            return 0
        from sweeps.runner import run_sweep

        return run_sweep(plan)
    except SweepConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _describe(plan: SweepPlan) -> str:
    lines = [OmegaConf.to_yaml(plan.cfg), "search space:"]
    lines += [f"  {key}: {expr}" for key, expr in plan.space.items()]
    lines.append(f"  seed: {list(plan.cfg.sweep.seeds)}")
    return "\n".join(lines)
