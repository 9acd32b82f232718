"""The search space: Hydra sweep expressions in config → a Ray Tune ``param_space``.

``sweep.space`` maps config keys to the expressions Hydra's sweepers accept (``choice(a,b)``,
``a,b``, ``range(1,5)``, ``interval(0,1)``, ``tag(log, interval(1e-4,1e-1))``). They are parsed by
Hydra's own override parser; only the mapping to Tune domains is written here. Discrete values are
kept as Hydra override strings, so a trial's overrides mean exactly what they mean on the command
line. ``sweep.seeds`` becomes one more grid axis, ``seed``, which the analysis treats as repeats.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, Override, RangeSweep
from hydra.errors import HydraException

from sweeps.errors import SweepConfigError

SEED_KEY = "seed"
_parser = OverridesParser.create()


def flatten_space(space: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Flatten the nested ``sweep.space`` mapping to ``{"optim.lr": "choice(0.1,0.01)"}``."""
    flat: dict[str, str] = {}
    for key, value in space.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_space(value, f"{path}."))
        elif isinstance(value, list | tuple):
            flat[path] = "choice(" + ",".join(str(v) for v in value) + ")"
        elif isinstance(value, str):
            flat[path] = value
        else:
            raise SweepConfigError(
                f"sweep.space.{path}: expected a sweep expression such as choice(a,b), got {value!r}"
            )
    return flat


def parse_expression(key: str, expression: str) -> Override:
    """Parse ``key=expression`` with Hydra's override parser; it must be a sweep."""
    try:
        override = _parser.parse_override(f"{key}={expression}")
    except HydraException as exc:
        reason = str(exc).strip().splitlines()[0]
        raise SweepConfigError(f"sweep.space.{key}: malformed sweep expression {expression!r}: {reason}") from exc
    if not override.is_sweep_override():
        raise SweepConfigError(
            f"sweep.space.{key}: {expression!r} is a single value, not a sweep "
            "(use choice(a,b), a,b, range(start,stop[,step]) or interval(low,high))"
        )
    return override


def to_domain(override: Override, search: str) -> Any:
    """One parsed sweep → a Tune domain: grid (or choice under random search), uniform, loguniform.
    A grid axis is Tune's plain ``{"grid_search": [...]}`` dict, so a grid needs no Ray import:
    ``--help``, ``--dry-run`` and bad input stay Ray-free."""
    value = override.value()
    key = override.get_key_element()
    if isinstance(value, IntervalSweep):
        low, high = float(value.start), float(value.end)
        if not low < high:
            raise SweepConfigError(f"sweep.space.{key}: interval needs low < high, got ({low}, {high})")
        from ray import tune  # on use only, see above

        if "log" in value.tags:
            if low <= 0:
                raise SweepConfigError(f"sweep.space.{key}: a log interval needs low > 0, got {low}")
            return tune.loguniform(low, high)
        return tune.uniform(low, high)
    if isinstance(value, ChoiceSweep | RangeSweep):
        options = list(override.sweep_string_iterator())
        if not options:
            raise SweepConfigError(f"sweep.space.{key}: the sweep is empty")
        if search == "grid":
            return {"grid_search": options}
        from ray import tune

        return tune.choice(options)
    raise SweepConfigError(f"sweep.space.{key}: unsupported sweep {type(value).__name__}")


def build_param_space(space: Mapping[str, str], seeds: list[int], search: str = "grid") -> dict[str, Any]:
    """The Tune ``param_space`` for the flat space plus the seed axis; empty under a searcher
    (optuna, bohb), which proposes every value, seeds included (``sweeps/search/``)."""
    from sweeps.search import SEARCHERS

    if search not in ("grid", "random", *SEARCHERS):
        raise SweepConfigError(f"sweep.search must be one of grid, random, {', '.join(SEARCHERS)}, got {search!r}")
    if not seeds:
        raise SweepConfigError("sweep.seeds is empty: give at least one seed")
    if SEED_KEY in space:
        raise SweepConfigError(f"sweep.space.{SEED_KEY}: sweep seeds with sweep.seeds, not sweep.space")
    if search in SEARCHERS:
        return {}
    param_space = {key: to_domain(parse_expression(key, expr), search) for key, expr in space.items()}
    param_space[SEED_KEY] = {"grid_search": [int(s) for s in seeds]}
    return param_space


def trial_overrides(config: Mapping[str, Any]) -> list[str]:
    """A trial's sampled config → Hydra override strings (``key=value``)."""
    return [f"{key}={_format(value)}" for key, value in sorted(config.items())]


def design_of(config: Mapping[str, Any]) -> str:
    """The design a trial belongs to: every swept value but the seed, as ``k=v`` joined by commas."""
    items = [f"{k}={_format(v)}" for k, v in sorted(config.items()) if k != SEED_KEY]
    return ",".join(items) or "default"


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return repr(value)
    return str(value)
