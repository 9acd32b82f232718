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
from hydra.core.override_parser.types import IntervalSweep, Override, OverrideType
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf

from sweeps import storage
from sweeps.config import CONFIG_DIR, compose_config, config_targets, resolve, trial_config
from sweeps.errors import SweepConfigError
from sweeps.plan import SweepPlan
from sweeps.reachability import check_reachable
from sweeps.redact import check_space, redact_config, redaction_words
from sweeps.search import SEARCHERS
from sweeps.search.build import check_pbt, check_search
from sweeps.settings import check_output_dir, check_resources, check_sweep
from sweeps.soup.choices import CHOICES as SOUP_CHOICES
from sweeps.space import SEED_KEY, build_param_space, flatten_space, parse_expression
from sweeps.targets import UNSETTLED, check_target, class_defines

SPACE_PREFIX = "sweep.space."
INFRASTRUCTURE_FAILURE = 3  # exit codes: 0 done, 1 a trial failed, 2 bad input, 3 this, 130 Ctrl-C
USAGE = """usage: python sweep.py [--dry-run] [-m] HYDRA_OVERRIDE ...
  +experiment=NAME            a preset from conf/experiment/
  key=value                   any config value, as in Hydra (optim.lr=0.01, model=mlp)
  key=a,b | key='range(..)'   add key to the search space (Hydra's sweep grammar)
  "sweep.space.key='choice(a,b)'"  set one search-space entry
  resume=true                 continue the interrupted sweep of the same sweep.name
  --dry-run                   print the plan (config, space, trial count) and exit
  -m, --multirun              accepted and ignored: every command is a sweep"""


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


def plan_sweep(args: list[str], import_targets: bool = True) -> SweepPlan:
    """Compose and validate everything a sweep needs; raises SweepConfigError on bad input.
    ``import_targets=False`` (``--dry-run``) imports no ``_target_``, so the plan prints without
    importing torch; a run imports only the targets whose source cannot show them."""
    plain, cli_space = split_overrides(args)
    first = resolve(compose_config(plain))
    output_dir = Path(str(first.paths.output_dir)).expanduser().resolve()
    check_output_dir(output_dir)
    base = [*plain, f"paths.output_dir={output_dir}"]
    if not storage.is_uri(str(first.storage.path)) and "storage.path" in _keys(plain):
        base.append(f"storage.path={Path(str(first.storage.path)).expanduser().resolve()}")
    cfg = resolve(compose_config(base))
    _check_sweep_settings(cfg)
    space = {**flatten_space(OmegaConf.to_container(cfg.sweep.space) or {}), **cli_space}
    check_space(space, redaction_words(cfg))
    check_search(cfg, space)
    param_space = build_param_space(space, list(cfg.sweep.seeds), str(cfg.sweep.search))
    _check_size(SweepPlan(cfg, base, space, param_space))
    _check_space_keys(base, space)
    first_trial = trial_config(base, {SEED_KEY: int(cfg.sweep.seeds[0])})
    _check_targets(first_trial, import_targets)
    if import_targets:
        _check_task(first_trial)
        check_pbt(first_trial, space)
    command = " ".join(["python sweep.py", *map(shlex.quote, args)])
    plan = SweepPlan(cfg, base, space, param_space, command=command)
    plan.resuming = _resuming(cfg.resume, plan.state_path)
    return plan


def _resuming(resume: object, state_path: str) -> bool:
    """resume=true needs restorable state; resume=auto restores when there is some."""
    if resume in (False, None, "false"):
        return False
    if resume not in (True, "true", "auto", "force"):
        raise SweepConfigError(f"resume must be true, false, auto or force, got {resume!r}")
    from ray.tune import Tuner  # only when a resume is asked for

    can = Tuner.can_restore(state_path)
    if can and not storage.size(f"{state_path}/tuner.pkl"):
        raise SweepConfigError(
            f"the saved sweep state at {state_path} is truncated (tuner.pkl is empty, e.g. after a full "
            "disk): it cannot be resumed; start afresh without resume"
        )
    if resume in (True, "true", "force") and not can:
        raise SweepConfigError(f"resume=true, but there is no sweep state to resume at {state_path}")
    if can:  # pyarrow is imported only when a resume is asked for
        from sweeps.ray_state import check_experiment_state

        check_experiment_state(state_path)
    return can


def _keys(overrides: list[str]) -> set[str]:
    return {o.split("=", 1)[0].lstrip("+~") for o in overrides}


def _check_sweep_settings(cfg: DictConfig) -> None:
    check_sweep(cfg)
    local = str(cfg.cluster.get("_target_", "")).endswith("LocalCluster")
    check_resources(cfg, local)
    _check_soup(cfg)
    _check_analysis(cfg)


def _check_size(plan: SweepPlan) -> None:
    """A grid larger than ``sweep.max_trials`` is refused before a single config is composed."""
    limit = int(plan.cfg.sweep.max_trials)
    if plan.num_trials > limit:
        raise SweepConfigError(
            f"the sweep has {plan.num_trials:,} trials, more than sweep.max_trials={limit:,}; "
            "raise sweep.max_trials if you mean it"
        )


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
    """Compose every option of a config group (each is its own file), and one value of any other
    key (Hydra rejects an unknown key; the values of a plain key are checked by the config's types
    when a trial composes them): a space of many values costs one composition per key."""
    for key, expression in space.items():
        override = parse_expression(key, expression)
        if isinstance(override.value(), IntervalSweep):
            values = [repr(float(override.value().start))]
        else:
            values = list(override.sweep_string_iterator())
            values = values if _is_group(key) else values[:1]
        for value in values:
            try:
                compose_config([*base, f"{key}={value}"])
            except SweepConfigError as exc:
                raise SweepConfigError(f"sweep.space.{key}={value}: {exc}") from exc


def _is_group(key: str) -> bool:
    """Whether ``key`` names a config group (a folder of options under ``conf/``)."""
    return (CONFIG_DIR / Path(*key.split("@")[0].split("."))).is_dir()


def _check_targets(cfg: DictConfig, import_targets: bool = True) -> None:
    """Every ``_target_`` in the config must exist (an unknown class fails here, not in a trial).
    Read from the source (``sweeps.targets``); imported only where the source cannot tell, and
    not at all under ``import_targets=False`` (``--dry-run``)."""
    for path, target in config_targets(cfg):
        try:
            settled = check_target(target)
            if settled is UNSETTLED and import_targets:
                _locate(target)
        except Exception as exc:  # noqa: BLE001 - any import failure is a config error here
            raise SweepConfigError(f"{path}._target_: cannot import {target!r} ({type(exc).__name__})") from exc


def _check_task(cfg: DictConfig) -> None:
    """A task class may check its own settings before any trial starts (``check_config(cfg)`` in
    its class body, raising ValueError): e.g. that its data can be as large as its schedule needs.
    Only such a task is imported by the driver."""
    target = str(cfg.task.get("_target_", "")) if "task" in cfg else ""
    if not target or class_defines(target, "check_config") is False:
        return
    check = getattr(_locate(target), "check_config", None)
    if callable(check):
        try:
            check(cfg)
        except ValueError as exc:
            raise SweepConfigError(f"task: {exc}") from exc


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in args):
        print(USAGE + "\n\npresets (conf/experiment/):\n" + presets_text())
        return 0
    if not args:
        print(USAGE, file=sys.stderr)
        return 2
    dry_run = "--dry-run" in args
    # -m/--multirun: Hydra's flag for "sweep"; every command here is a sweep already
    args = [a for a in args if a not in ("--dry-run", "-m", "--multirun")]
    try:
        plan = plan_sweep(args, import_targets=not dry_run)
        if dry_run:
            print(_describe(plan))
            return 0
        check_reachable(plan.cfg)
        from sweeps.runner import run_sweep

        return run_sweep(plan)
    except SweepConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a full disk, a store that went away mid-sweep: not the user's input
        print(f"error: infrastructure failure: {exc}", file=sys.stderr)
        return INFRASTRUCTURE_FAILURE
    except Exception as exc:
        from sweeps.write_queue import is_store_full

        if not is_store_full(exc):  # e.g. the parent run's first writes, before the queue exists
            raise
        print(f"error: infrastructure failure: the MLflow store is full ({type(exc).__name__})", file=sys.stderr)
        return INFRASTRUCTURE_FAILURE


def presets_text() -> str:
    """One line per preset: its name and the first line of its header that is not the command."""
    lines = []
    for path in sorted((CONFIG_DIR / "experiment").glob("*.yaml")):
        header = [line[1:].strip() for line in path.read_text().splitlines() if line.startswith("#")]
        text = [h for h in header if h and not h.startswith(("@package", "python sweep.py"))]
        lines.append(f"  {path.stem:<18} {text[0] if text else ''}")
    return "\n".join(lines)


def _describe(plan: SweepPlan) -> str:
    shown = redact_config(plan.cfg, redaction_words(plan.cfg))  # the terminal is a log too
    lines = [OmegaConf.to_yaml(shown), "search space:"]
    lines += [f"  {key}: {expr}" for key, expr in plan.space.items()]
    lines.append(f"  seed: {list(plan.cfg.sweep.seeds)}")
    search = str(plan.cfg.sweep.search)
    lines.append(f"search: {search}" + (f", {plan.cfg.sweep.num_samples} configurations x "
                                         f"{len(plan.cfg.sweep.seeds)} seeds" if search in SEARCHERS else ""))
    lines.append(f"trials: {plan.num_trials}")
    return "\n".join(lines)
