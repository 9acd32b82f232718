"""The ``analysis`` config group as a typed object (built from a dict or a DictConfig)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from sweeps.analysis.intervals import DEFAULT_BOUNDS, check_bounds


@dataclass
class AsoSettings:
    """Almost stochastic order (deepsig ``aso``): bootstrap size, seed, decision threshold.

    Off unless asked for (``enabled`` or ``analysis.test: aso``): deepsig's bootstrap loops in
    Python and costs about a second per design pair, most of a report's time, and with the few
    seeds of a sweep its eps_min decides nothing the other tests do not."""

    enabled: bool = False
    n_bootstrap: int = 100
    seed: int = 0
    max_eps: float = 0.2  # A is "almost stochastically" better when eps_min < max_eps
    min_seeds: int = 3  # fewer seed-matched pairs: n/a (eps_min degenerates to 0 with 2 scores)


@dataclass
class AnalysisSettings:
    """What to analyse and how. See ``conf/analysis/default.yaml`` for the meaning of each field."""

    target: str | None = None  # the sweep's metric (sweep.metric); always analysed when present
    mode: str = "max"  # direction of ``target`` (sweep.mode)
    metrics: list[str] | None = None  # names or fnmatch patterns; None: target + task-type metrics
    task_types: list[str] | None = None  # first path segments kept by default; None: every one
    minimize: list[str] = field(default_factory=lambda: ["*loss*", "*error*"])  # lower is better
    baseline: str | None = None  # a design string; None: the first design in sorted order
    alpha: float = 0.05
    test: str = "auto"  # verdict test: auto | ttest | wilcoxon | aso | per_example
    # per-example paired permutation test: "auto" = enough resamples that the smallest attainable
    # Holm-adjusted p of the verdict family (all design pairs) is at most alpha / 10
    n_permutations: int | str = "auto"
    max_permutations: int = 100_000
    seed: int = 0
    aso: AsoSettings = field(default_factory=AsoSettings)
    sanity: list[dict] = field(default_factory=list)  # the study's sanity contract (sanity.py)
    # a metric's range, [{metric: name or fnmatch pattern, range: [low, high] or None}], the study's
    # own first, then the defaults; the first match wins and intervals are clipped to it
    bounds: list = field(default_factory=list)
    default_bounds: list = field(default_factory=lambda: check_bounds(DEFAULT_BOUNDS))
    top_k: int = 10  # sampled searches: how many of the best configurations the report lists

    @property
    def ranges(self) -> list:
        """Where a metric's range is looked up: the study's bounds, then the defaults."""
        return [*self.bounds, *self.default_bounds]

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any] | Any | None = None, **extra: Any
    ) -> AnalysisSettings:
        """From a plain mapping or a DictConfig; unknown keys are ignored, ``extra`` wins."""
        data = _to_dict(config)
        data.update({k: v for k, v in extra.items() if v is not None})
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        aso = kwargs.pop("aso", None)
        settings = cls(**kwargs)
        if isinstance(aso, AsoSettings):
            settings.aso = aso
        elif isinstance(aso, Mapping):
            aso_known = {f.name for f in fields(AsoSettings)}
            settings.aso = AsoSettings(**{k: v for k, v in aso.items() if k in aso_known})
        if settings.test == "aso":
            settings.aso.enabled = True
        for name in ("metrics", "task_types", "minimize"):
            value = getattr(settings, name)
            if isinstance(value, str):
                setattr(settings, name, [value])
            elif value is not None:
                setattr(settings, name, [str(v) for v in value])
        if settings.test not in ("auto", "ttest", "wilcoxon", "aso", "per_example"):
            raise ValueError(
                f"analysis.test must be auto|ttest|wilcoxon|aso|per_example, got {settings.test!r}"
            )
        if settings.n_permutations != "auto" and not (
            isinstance(settings.n_permutations, int) and settings.n_permutations > 0
        ):
            raise ValueError(
                f"analysis.n_permutations must be 'auto' or a positive integer, "
                f"got {settings.n_permutations!r}"
            )
        from sweeps.analysis.sanity import validate_contract  # sanity reads these settings

        settings.sanity = validate_contract(settings.sanity)
        settings.bounds = check_bounds(settings.bounds)
        if "default_bounds" in kwargs:
            settings.default_bounds = check_bounds(settings.default_bounds, "analysis.default_bounds")
        if not (isinstance(settings.top_k, int) and settings.top_k > 0):
            raise ValueError(f"analysis.top_k must be a positive integer, got {settings.top_k!r}")
        if settings.mode not in ("min", "max"):
            raise ValueError(f"analysis.mode must be 'min' or 'max', got {settings.mode!r}")
        return settings


def apply_overrides(config: Mapping[str, Any] | Any | None, overrides: list[str]) -> dict[str, Any]:
    """``config`` with each ``key=value`` applied (``n_permutations=auto``, ``aso.enabled=false``;
    values read as YAML). ``ValueError`` names an override that is malformed or no setting."""
    import yaml

    data = _to_dict(config)
    data["aso"] = dict(data.get("aso") or {})
    sections = {"": {f.name for f in fields(AnalysisSettings)}, "aso": {f.name for f in fields(AsoSettings)}}
    for override in overrides:
        key, sep, text = override.partition("=")
        section, _, name = key.strip().rpartition(".")
        if not sep or name not in sections.get(section, ()) or name == "aso" and not section:
            raise ValueError(f"--set {override!r}: expected KEY=VALUE with KEY an analysis setting "
                             f"(e.g. n_permutations=auto, aso.enabled=false)")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ValueError(f"--set {override!r}: the value is not YAML ({err})") from err
        if isinstance(getattr(AsoSettings() if section else AnalysisSettings(), name), bool) and not isinstance(value, bool):
            raise ValueError(f"--set {override!r}: {key.strip()} is true or false")
        (data["aso"] if section else data)[name] = value
    return data


def _to_dict(config: Any) -> dict[str, Any]:
    if config is None:
        return {}
    try:
        from omegaconf import DictConfig, OmegaConf

        if isinstance(config, DictConfig):
            return dict(OmegaConf.to_container(config, resolve=True))  # type: ignore[arg-type]
    except ImportError:  # pragma: no cover - omegaconf is a core dependency
        pass
    return dict(config)
