"""Hydra sweep expressions → searcher-neutral dimensions (float, int, categorical).

``interval(a,b)`` is a float, ``tag(log, interval(a,b))`` a log-scaled float, ``range(...)`` over
integers an int with its step, any other ``range`` or ``choice`` a categorical of Hydra override
strings (so a proposed value means exactly what it means on the command line).
"""

from __future__ import annotations

from dataclasses import dataclass

from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep

from sweeps.errors import SweepConfigError
from sweeps.space import parse_expression


@dataclass(frozen=True)
class FloatDim:
    low: float
    high: float
    log: bool = False


@dataclass(frozen=True)
class IntDim:
    low: int
    high: int  # inclusive, unlike Hydra's range stop
    step: int = 1

    @property
    def values(self) -> list[int]:
        return list(range(self.low, self.high + 1, self.step))


@dataclass(frozen=True)
class CategoricalDim:
    options: tuple[str, ...]


Dimension = FloatDim | IntDim | CategoricalDim


def dimension(key: str, expression: str) -> Dimension:
    """One ``sweep.space`` entry as a dimension; bad input is a SweepConfigError naming the key."""
    override = parse_expression(key, expression)
    value = override.value()
    if isinstance(value, IntervalSweep):
        low, high = float(value.start), float(value.end)
        if not low < high:
            raise SweepConfigError(f"sweep.space.{key}: interval needs low < high, got ({low}, {high})")
        log = "log" in value.tags
        if log and low <= 0:
            raise SweepConfigError(f"sweep.space.{key}: a log interval needs low > 0, got {low}")
        return FloatDim(low, high, log)
    if not isinstance(value, ChoiceSweep | RangeSweep):
        raise SweepConfigError(f"sweep.space.{key}: unsupported sweep {type(value).__name__}")
    options = list(override.sweep_string_iterator())
    if not options:
        kind = "range" if isinstance(value, RangeSweep) else "choice"
        raise SweepConfigError(f"sweep.space.{key}: {expression!r} has no values (an empty {kind})")
    if isinstance(value, RangeSweep) and all(isinstance(v, int) for v in (value.start, value.step)):
        numbers = [int(o) for o in options]
        return IntDim(min(numbers), max(numbers), abs(int(value.step)))
    return CategoricalDim(tuple(options))


def dimensions(space: dict[str, str]) -> dict[str, Dimension]:
    """Every entry of the flat space; a searcher needs at least one."""
    if not space:
        raise SweepConfigError("sweep.space is empty: a searcher needs at least one key to search")
    return {key: dimension(key, expression) for key, expression in space.items()}
