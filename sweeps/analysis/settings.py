"""The ``analysis`` config group's schema: every field, its default and its meaning, in one place.

Hydra composes ``conf/analysis/default.yaml`` onto this schema (:func:`register_schema`, stored as
``analysis/schema``), so a wrong type or an unknown key under ``analysis`` is refused when the
config is composed; :meth:`AnalysisSettings.from_config` then checks what types cannot say (the
test's name, the sanity contract, the bounds). ``python -m sweeps.report`` reads the same section
back from the parent run's ``config.yaml``. Light on purpose (no pandas): the command line imports
it before any trial runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from sweeps.settings import typed

TESTS = ("auto", "ttest", "wilcoxon", "aso", "per_example")

# each metric's range: the 95% t-interval across seeds is clipped to it (sweeps/analysis/intervals.py)
DEFAULT_BOUNDS: list[dict] = [
    {"metric": pattern, "range": [low, 1.0]}
    for pattern, low in [
        ("*acc*", 0.0), ("*ndcg*", 0.0), ("*mrr*", 0.0), ("*recall*", 0.0), ("*precision*", 0.0),
        ("*f1*", 0.0), ("*v_measure*", 0.0), ("*spearman*", -1.0), ("*pearson*", -1.0),
    ]
]


@dataclass
class AsoSettings:
    """Almost stochastic order (deepsig ``aso``; Dror et al., 2019) across seeds: bootstrap size,
    seed, decision threshold.

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
    """What the end-of-sweep significance analysis compares and how (``sweeps/analysis/``)."""

    target: str | None = None  # the sweep's metric (sweep.metric); always analysed when present
    mode: str = "max"  # direction of ``target`` (sweep.mode)
    # names or fnmatch patterns; None: target + every "<task_type>/<dataset>/<measure>" metric
    metrics: list[str] | None = None
    task_types: list[str] | None = None  # None: every task type; e.g. [sts, retrieval]
    minimize: list[str] = field(default_factory=lambda: ["*loss*", "*error*"])  # lower is better
    baseline: str | None = None  # a design, e.g. "model.hidden=16,optim.lr=0.01"; None: first, sorted
    alpha: float = 0.05  # significance level after Holm–Bonferroni
    # the test deciding the verdicts: auto (per_example when per-example scores exist, else ttest),
    # ttest, wilcoxon, aso or per_example
    test: str = "auto"
    # paired permutation test over per-example scores: "auto" = enough resamples that the smallest
    # attainable Holm-adjusted p of the verdict family (all design pairs) is at most alpha / 10
    n_permutations: Any = "auto"
    max_permutations: int = 100_000
    seed: int = 0
    aso: AsoSettings = field(default_factory=AsoSettings)
    # the study's sanity contract: checks that must hold for its numbers to mean anything
    # (kinds: upper_bound, above, below, holds, ordered; see sweeps/analysis/sanity.py)
    sanity: list[Any] = field(default_factory=list)
    # each metric's range, [{metric: name or fnmatch pattern, range: [low, high] or null}]: the
    # study's bounds first, then default_bounds; the first match wins, none: unbounded. A score
    # outside its declared range disables clipping for that metric, with a warning.
    bounds: list[Any] = field(default_factory=list)
    default_bounds: list[Any] = field(default_factory=lambda: [dict(b) for b in DEFAULT_BOUNDS])
    top_k: int = 10  # sampled (random) searches: how many of the best configurations the report lists

    @property
    def ranges(self) -> list:
        """Where a metric's range is looked up: the study's bounds, then the defaults."""
        from sweeps.analysis.intervals import check_bounds

        return [*check_bounds(self.bounds), *check_bounds(self.default_bounds, "analysis.default_bounds")]

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | DictConfig | None = None) -> AnalysisSettings:
        """From a plain mapping or a DictConfig; any problem is one ValueError naming its key."""
        if isinstance(config, DictConfig):
            config = OmegaConf.to_container(config, resolve=True)  # type: ignore[assignment]
        settings: AnalysisSettings = OmegaConf.to_object(typed(config, cls, "analysis", ValueError))
        settings.check()
        return settings

    def check(self) -> None:
        """What types cannot say: the test's name, positive counts, the contract and the bounds."""
        from sweeps.analysis.intervals import check_bounds
        from sweeps.analysis.sanity import validate_contract  # sanity reads these settings

        if self.test not in TESTS:
            raise ValueError(f"analysis.test must be {'|'.join(TESTS)}, got {self.test!r}")
        if self.test == "aso":
            self.aso.enabled = True
        n = self.n_permutations
        if n != "auto" and not (isinstance(n, int) and not isinstance(n, bool) and n > 0):
            raise ValueError(f"analysis.n_permutations must be 'auto' or a positive integer, got {n!r}")
        if self.top_k < 1:
            raise ValueError(f"analysis.top_k must be a positive integer, got {self.top_k!r}")
        if self.mode not in ("min", "max"):
            raise ValueError(f"analysis.mode must be 'min' or 'max', got {self.mode!r}")
        self.sanity = validate_contract(self.sanity)
        check_bounds(self.bounds)
        check_bounds(self.default_bounds, "analysis.default_bounds")


def apply_overrides(config: Mapping[str, Any] | DictConfig | None, overrides: list[str]) -> dict[str, Any]:
    """``config`` with each ``KEY=VALUE`` applied, values read as YAML (``n_permutations=auto``,
    ``aso.enabled=false``); a malformed override, a key that is no setting or a value of the wrong
    type is one ``ValueError`` naming the override. ``config`` itself is not modified."""
    import yaml

    if isinstance(config, DictConfig):
        config = OmegaConf.to_container(config, resolve=True)  # type: ignore[assignment]
    data = OmegaConf.create(dict(config or {}))
    schema = OmegaConf.structured(AnalysisSettings)
    for override in overrides:
        key, sep, text = (part.strip() for part in override.partition("="))
        try:
            if not sep or not key:
                raise ValueError("expected KEY=VALUE")
            value = yaml.safe_load(text)
            OmegaConf.update(schema, key, value, merge=True)  # the schema's type and key checks
            OmegaConf.update(data, key, value, merge=True)
        except (ValueError, yaml.YAMLError, OmegaConfBaseException) as err:
            reason = str(err).strip().splitlines()[0]
            raise ValueError(f"--set {override!r}: {reason} (e.g. n_permutations=auto, aso.enabled=false)") from err
    return OmegaConf.to_container(data)  # type: ignore[return-value]


def register_schema() -> None:
    """Store the schema as ``analysis/schema``, which ``conf/analysis/default.yaml`` extends."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(group="analysis", name="schema", node=AnalysisSettings)
