"""The whole analysis of one sweep: scores → aggregates, pairwise tests, Holm, verdicts.

Families for Holm–Bonferroni: one family per (metric, test) holds every design pair of that metric
(D·(D−1)/2 comparisons) — seed-level Wilcoxon, seed-level paired t, the combined per-example
test, and the per-seed per-example tests (pairs × seeds) are corrected separately; one family
per task type holds every design pair of the Wilcoxon over that type's tasks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sweeps.analysis.designs import design_key
from sweeps.analysis.intervals import clip_interval, metric_bounds, outside_warnings
from sweeps.analysis.load import SweepData
from sweeps.analysis.metrics import higher_is_better, select_metrics, task_type
from sweeps.analysis.per_example import align
from sweeps.analysis.permutation import permutation_test
from sweeps.analysis.resolution import resamples_for, smallest_holm_p
from sweeps.analysis.sampled import SampledSearch, sampled_reason, summarize
from sweeps.analysis.sanity import SanityResult, check_contract
from sweeps.analysis.settings import AnalysisSettings
from sweeps.analysis.stats import aggregate, holm, over_tasks, pairwise
from sweeps.analysis.verdict import Verdict, decide

COMBINED_COLUMNS = [
    "design_a",
    "design_b",
    "n_seeds_per_example",
    "per_example_diff",
    "p_per_example",
]
AGGREGATE_COLUMNS = ["metric", "task_type", "design", "n", "mean", "std", "ci_low", "ci_high", "range"]
PER_SEED_COLUMNS = ["metric", "design_a", "design_b", "seed", "statistic", "n_examples", "diff", "p"]

TEST_NAMES = {
    "ttest": ("p_ttest_holm", "paired t-test across seeds"),
    "wilcoxon": ("p_wilcoxon_holm", "Wilcoxon signed-rank across seeds"),
    "aso": ("aso_eps", "almost stochastic order across seeds"),
    "per_example": ("p_per_example_holm", "paired permutation test over per-example scores"),
}


TEST_LABELS = {
    **{k: v[1] for k, v in TEST_NAMES.items()},
    "per_example_seed": "per-seed permutation tests",
    "wilcoxon_tasks": "Wilcoxon over tasks",
}


@dataclass
class Analysis:
    experiment: str
    parent_run_id: str
    settings: AnalysisSettings
    designs: list[str]
    metrics: list[str]
    baseline: str | None
    runs: pd.DataFrame  # raw: one row per child run
    scores: pd.DataFrame  # long: design, seed, run_id, metric, value (finished runs)
    aggregates: pd.DataFrame
    pairs: pd.DataFrame  # one row per metric × design pair, raw and Holm-corrected p-values
    per_seed: pd.DataFrame  # per-example test per metric × design pair × seed
    tasks: pd.DataFrame  # Wilcoxon over the tasks of a type, per task type × design pair
    resolution: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per Holm family
    verdicts: list[Verdict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # printed first: what limits the verdicts
    sanity: list[SanityResult] = field(default_factory=list)
    sampled: SampledSearch | None = None  # a random search: top configurations, key importance


def analyze(data: SweepData, settings: AnalysisSettings) -> Analysis:
    runs = data.runs
    designs = sorted(runs["design"].unique().tolist())
    metrics = select_metrics(data.metric_names, settings)
    notes: list[str] = []
    baseline = resolve_baseline(settings.baseline, designs, notes)
    finished = runs[runs["status"] == "FINISHED"]
    if len(finished) < len(runs):
        notes.append(
            f"{len(runs) - len(finished)} of {len(runs)} child runs did not finish "
            "(KILLED or FAILED) and are left out of the statistics"
        )
    scores = finished.melt(
        id_vars=["run_id", "design", "seed"],
        value_vars=metrics,
        var_name="metric",
        value_name="value",
    ).dropna(subset=["value"])
    scores = scores[["design", "seed", "run_id", "metric", "value"]].sort_values(
        ["metric", "design", "seed"]
    )
    agg_rows, pair_frames, seed_frames, resolution_rows = [], [], [], []
    for metric in metrics:
        sub = scores[scores["metric"] == metric]
        bounds = metric_bounds(metric, settings.ranges)
        for design in designs:
            values = sub.loc[sub["design"] == design, "value"].to_numpy(float)
            row = aggregate(values)
            row["range"] = clip_interval(row, values, bounds)
            agg_rows.append(
                {"metric": metric, "task_type": task_type(metric), "design": design, **row}
            )
        pairs, per_seed, resolution = _metric_tests(
            data, finished, metric, _seed_table(sub, designs), baseline, settings
        )
        pair_frames.append(pairs)
        seed_frames.append(per_seed)
        resolution_rows += resolution
    aggregates = pd.DataFrame(
        agg_rows, columns=AGGREGATE_COLUMNS
    )
    analysis = Analysis(
        data.experiment,
        data.parent_run_id,
        settings,
        designs,
        metrics,
        baseline,
        runs,
        scores,
        aggregates,
        _concat(pair_frames),
        _concat(seed_frames),
        pd.DataFrame(),
        notes=notes,
    )
    analysis.warnings += outside_warnings(aggregates)
    analysis.tasks, task_resolution = _task_tests(analysis)
    analysis.resolution = pd.DataFrame(resolution_rows + task_resolution, columns=RESOLUTION_COLUMNS)
    analysis.verdicts = _verdicts(analysis)
    analysis.sanity = check_contract(settings.sanity, finished, settings)
    analysis.sampled = _sampled(data, analysis)
    return analysis


def _sampled(data: SweepData, analysis: Analysis) -> SampledSearch | None:
    """The sampled-search section on the sweep's metric (else the first analysed metric)."""
    s = analysis.settings
    metric = s.target if s.target in analysis.metrics else next(iter(analysis.metrics), None)
    if metric is None:
        return None
    agg = analysis.aggregates[analysis.aggregates["metric"] == metric]
    seeds = agg.set_index("design")["n"]
    reason = sampled_reason(data.config, data.space, seeds[seeds > 0])
    if reason is None:
        return None
    scores = analysis.scores[analysis.scores["metric"] == metric]
    per_example = verdict_test(analysis, metric) == "per_example"
    return summarize(reason, metric, scores, agg, higher_is_better(metric, s), s.top_k, per_example)


def _metric_tests(
    data: SweepData,
    finished: pd.DataFrame,
    metric: str,
    table: pd.DataFrame,
    baseline: str | None,
    settings: AnalysisSettings,
) -> tuple[pd.DataFrame, pd.DataFrame, list[dict]]:
    """One metric's design pairs under every test, Holm per family (all pairs, and the baseline's
    pairs alone), and the resolution of each family."""
    hib = higher_is_better(metric, settings)
    pairs = pairwise(table, settings.aso, hib)
    pairs.insert(0, "metric", metric)
    pairs["gain_a"] = pairs["mean_diff"] * (1 if hib else -1)
    combined, per_seed, n_resamples = _per_example_tests(data, finished, metric, pairs, settings)
    pairs = pairs.merge(combined, on=["design_a", "design_b"], how="left")
    with_baseline = (pairs["design_a"] == baseline) | (pairs["design_b"] == baseline)
    seeds = int(pairs["n_pairs"].max()) if len(pairs) else 0
    resolution = []
    for test, n in (("ttest", seeds), ("wilcoxon", seeds), ("per_example", n_resamples)):
        raw = pairs[f"p_{test}"]
        pairs[f"p_{test}_holm"] = holm(raw)
        pairs[f"p_{test}_holm_baseline"] = holm(raw.where(with_baseline))
        for family, size in (("all pairs", raw.notna().sum()), ("vs baseline", (raw.notna() & with_baseline).sum())):
            resolution.append(_resolution_row(metric, test, family, n, int(size), settings.alpha))
    if not per_seed.empty:
        per_seed["p_holm"] = holm(per_seed["p"])
        resolution.append(
            _resolution_row(metric, "per_example_seed", "pairs x seeds", n_resamples, len(per_seed), settings.alpha)
        )
    return pairs, per_seed, resolution


RESOLUTION_COLUMNS = ["scope", "test", "family", "family_size", "n", "smallest_holm_p", "can_reject"]


def _resolution_row(scope: str, test: str, family: str, n: int, size: int, alpha: float) -> dict:
    """n: resamples (permutation tests), seed-matched pairs (t, Wilcoxon) or tasks."""
    smallest = smallest_holm_p(test, n, size) if size else math.nan
    return {
        "scope": scope,
        "test": test,
        "family": family,
        "family_size": size,
        "n": n,
        "smallest_holm_p": smallest,
        "can_reject": bool(smallest <= alpha) if math.isfinite(smallest) else False,
    }


def resolve_baseline(wanted: str | None, designs: list[str], notes: list[str]) -> str | None:
    """``analysis.baseline`` matched to a design (any key order); default: first design, sorted."""
    if not designs:
        return None
    if wanted:
        key = design_key(wanted)
        for design in designs:
            if design == wanted or design_key(design) == key:
                return design
        notes.append(f"analysis.baseline {wanted!r} matches no design; using {designs[0]!r}")
    return designs[0]


def _seed_table(sub: pd.DataFrame, designs: list[str]) -> pd.DataFrame:
    """seeds × designs of one metric (mean over duplicate runs of a seed, e.g. repeated sweeps)."""
    table = sub.pivot_table(index="seed", columns="design", values="value", aggfunc="mean")
    return table.reindex(columns=designs)


def _per_example_tests(
    data: SweepData,
    finished: pd.DataFrame,
    metric: str,
    pairs: pd.DataFrame,
    settings: AnalysisSettings,
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """The stratified permutation test of every design pair (combined over seeds, and per seed
    from the same resamples); also returns the number of resamples used."""
    runs = {(r.design, r.seed): r.run_id for r in finished.itertuples()}
    seeds = sorted({s for _, s in runs})
    matched_pairs = {}
    for pair in pairs.itertuples():
        matched = {}
        for seed in seeds:
            a = data.per_example.get((runs.get((pair.design_a, seed)), metric))
            b = data.per_example.get((runs.get((pair.design_b, seed)), metric))
            aligned = align(a, b) if a is not None and b is not None else None
            if aligned is not None:
                matched[seed] = (aligned, a.statistic)
        matched_pairs[(pair.design_a, pair.design_b)] = matched
    # sized for the verdict family (the design pairs); the per-seed tests share these resamples and
    # are reported with their own resolution, never used for verdicts
    family = sum(1 for m in matched_pairs.values() if m)
    n_resamples = permutations_for(settings, family)
    combined_rows, seed_rows = [], []
    for (design_a, design_b), matched in matched_pairs.items():
        statistic = next(iter(matched.values()))[1] if matched else "mean"
        result = permutation_test(
            [aligned for aligned, _ in matched.values()], statistic, n_resamples, settings.seed
        )
        for k, (seed, (aligned, _)) in enumerate(matched.items()):
            seed_rows.append(
                {
                    "metric": metric,
                    "design_a": design_a,
                    "design_b": design_b,
                    "seed": seed,
                    "statistic": statistic,
                    "n_examples": len(aligned.a),
                    "diff": result.stratum_diffs[k],
                    "p": result.stratum_ps[k],
                }
            )
        combined_rows.append(
            {
                "design_a": design_a,
                "design_b": design_b,
                "n_seeds_per_example": len(matched),
                "per_example_diff": result.diff,
                "p_per_example": result.p,
            }
        )
    combined = pd.DataFrame(combined_rows, columns=COMBINED_COLUMNS)
    per_seed = pd.DataFrame(seed_rows, columns=PER_SEED_COLUMNS)
    return combined, per_seed, n_resamples if family else 0


def permutations_for(settings: AnalysisSettings, family_size: int) -> int:
    """``analysis.n_permutations``, or for ``auto`` the count that gives a family of this size a
    smallest attainable Holm p of at most alpha / 10."""
    if settings.n_permutations != "auto":
        return int(settings.n_permutations)
    return resamples_for(family_size, settings.alpha, settings.max_permutations)


def _task_tests(analysis: Analysis) -> tuple[pd.DataFrame, list[dict]]:
    frames, resolution = [], []
    for kind, metrics in _task_groups(analysis.metrics).items():
        if len(metrics) < 2:
            continue
        means = _oriented_means(analysis, metrics)
        tests = over_tasks(means)
        tests.insert(0, "task_type", kind)
        tests["gain_a"] = tests["mean_diff"]
        tests["p_wilcoxon_tasks_holm"] = holm(tests["p_wilcoxon_tasks"])
        frames.append(tests)
        size = int(tests["p_wilcoxon_tasks"].notna().sum())
        resolution.append(
            _resolution_row(
                kind, "wilcoxon_tasks", "all pairs", len(metrics), size, analysis.settings.alpha
            )
        )
    return _concat(frames), resolution


def _task_groups(metrics: list[str]) -> dict[str, list[str]]:
    """The tasks of one type: its datasets measured the same way (``retrieval/*/ndcg_at_10``), so
    two measures of one dataset never count as two tasks."""
    groups: dict[str, dict[str, list[str]]] = {}
    for metric in metrics:
        parts = metric.split("/")
        if len(parts) == 3:
            groups.setdefault(task_type(metric), {}).setdefault(parts[2], []).append(metric)
    return {kind: max(by_measure.values(), key=len) for kind, by_measure in groups.items()}


def _oriented_means(analysis: Analysis, metrics: list[str]) -> pd.DataFrame:
    """tasks × designs of seed-mean scores, negated for metrics where lower is better."""
    agg = analysis.aggregates[analysis.aggregates["metric"].isin(metrics)]
    means = agg.pivot(index="metric", columns="design", values="mean").reindex(
        columns=analysis.designs
    )
    signs = np.array([1.0 if higher_is_better(m, analysis.settings) else -1.0 for m in means.index])
    return means.mul(signs, axis=0)


def can_reject(analysis: Analysis, scope: str, test: str, family: str = "all pairs") -> bool:
    """Whether a test family can reach p < alpha at all (see :mod:`sweeps.analysis.resolution`)."""
    if test == "aso":
        return True  # eps_min is no p-value: deepsig corrects its own confidence level
    res = analysis.resolution
    if res.empty:
        return False
    row = res[(res["scope"] == scope) & (res["test"] == test) & (res["family"] == family)]
    return bool(len(row) and row["can_reject"].iloc[0])


def verdict_test(analysis: Analysis, metric: str) -> str:
    """The test deciding a metric's verdicts: ``analysis.test``, or for ``auto`` the per-example
    test when the metric has per-example scores, else the paired t-test. A test that cannot reject
    at its family size is replaced by one that can (the report says so)."""
    wanted = analysis.settings.test
    pairs = _rows(analysis.pairs, "metric", metric)
    has_per_example = "p_per_example" in pairs and pairs["p_per_example"].notna().any()
    preferred = ["per_example", "ttest"] if has_per_example else ["ttest"]
    candidates = preferred if wanted == "auto" else [wanted, *preferred]
    for test in candidates:
        if can_reject(analysis, metric, test):
            return test
    return candidates[0]


def _rows(frame: pd.DataFrame, column: str, value: str) -> pd.DataFrame:
    return frame[frame[column] == value] if column in frame else frame


def _verdicts(analysis: Analysis) -> list[Verdict]:
    s = analysis.settings
    analysis.warnings += _resolution_warnings(analysis)
    verdicts = []
    for metric in analysis.metrics:
        test = verdict_test(analysis, metric)
        column, label = TEST_NAMES[test]
        agg = analysis.aggregates[analysis.aggregates["metric"] == metric].set_index("design")
        sign = 1.0 if higher_is_better(metric, s) else -1.0
        verdict = Verdict(
            scope="metric",
            task_type=task_type(metric),
            name=metric,
            test=f"{label}" + ("" if test == "aso" else ", Holm-corrected"),
            best=None,
            score={d: sign * agg.loc[d, "mean"] for d in analysis.designs},
            shown={d: _mean_ci(agg.loc[d]) for d in analysis.designs},
            baseline=analysis.baseline,
        )
        if agg["n"].max() < 2 and test != "per_example":
            verdict.notes.append("fewer than 2 seeds per design: seed-level tests are n/a")
        if test != s.test and s.test != "auto":
            analysis.warnings.append(
                f"{metric}: analysis.test={s.test} cannot reject at its family size; "
                f"verdicts use the {label} instead"
            )
        if not can_reject(analysis, metric, test):
            verdict.notes.append("no test can reject at this family size: comparisons are n/a")
            column = "untestable"
        pairs = _rows(analysis.pairs, "metric", metric)
        verdicts.append(
            decide(verdict, analysis.designs, pairs, column, s.alpha, s.aso.max_eps, _baseline_column(column))
        )
    for kind, metrics in _task_groups(analysis.metrics).items():
        if len(metrics) < 2:
            continue
        means = _oriented_means(analysis, metrics)
        ranks = means.rank(axis=1, ascending=False).mean(axis=0)
        verdict = Verdict(
            scope="task type",
            task_type=kind,
            name=f"{kind} ({len(metrics)} tasks)",
            test="Wilcoxon signed-rank over tasks (seed means), Holm-corrected",
            best=None,
            score={d: -float(ranks.get(d, math.nan)) for d in analysis.designs},
            shown={d: f"mean rank {ranks.get(d, math.nan):.2f}" for d in analysis.designs},
            baseline=analysis.baseline,
        )
        column = "p_wilcoxon_tasks_holm"
        if not can_reject(analysis, kind, "wilcoxon_tasks"):
            verdict.notes.append(
                f"{len(metrics)} tasks are too few for the Wilcoxon over tasks to reject: n/a"
            )
            column = "untestable"
        pairs = _rows(analysis.tasks, "task_type", kind)
        verdicts.append(decide(verdict, analysis.designs, pairs, column, s.alpha, s.aso.max_eps))
    return verdicts


def _baseline_column(column: str) -> str:
    """The vs-baseline comparisons form their own Holm family (the baseline's pairs only)."""
    return f"{column}_baseline" if column.endswith("_holm") else column


def _resolution_warnings(analysis: Analysis) -> list[str]:
    """One line per test and family that cannot reject for some metric or task type."""
    res = analysis.resolution
    if res.empty:
        return []
    lines = []
    blocked = res[~res["can_reject"] & (res["family_size"] > 0)]
    for (test, family), rows in blocked.groupby(["test", "family"], sort=False):
        worst = rows.sort_values("smallest_holm_p").iloc[0]
        scopes = ", ".join(rows["scope"].head(3)) + (" …" if len(rows) > 3 else "")
        lines.append(
            f"{TEST_LABELS.get(test, test)} ({family}) cannot reject at alpha={analysis.settings.alpha} "
            f"for {len(rows)} scope(s) ({scopes}): family of {int(worst['family_size'])} with "
            f"n={int(worst['n'])} gives a smallest Holm p of {worst['smallest_holm_p']:.3g}; "
            "it is not used for verdicts"
        )
    return lines


def _mean_ci(row: pd.Series) -> str:
    if not math.isfinite(row["mean"]):
        return "n/a"
    if not math.isfinite(row["ci_low"]):
        return f"{row['mean']:.4f} (n={int(row['n'])})"
    return f"{row['mean']:.4f} [{row['ci_low']:.4f}, {row['ci_high']:.4f}] (n={int(row['n'])})"


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    filled = [f for f in frames if not f.empty]
    if filled:
        return pd.concat(filled, ignore_index=True)
    return frames[0] if frames else pd.DataFrame()
