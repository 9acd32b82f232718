"""The whole analysis of one sweep: scores → aggregates, pairwise tests, Holm, verdicts.

Families for Holm–Bonferroni: one family per (metric, test) holds every design pair of that metric
(D·(D−1)/2 comparisons) — seed-level Wilcoxon, seed-level paired t, the combined per-example
test, and the per-seed per-example tests (pairs × seeds) are corrected separately; one family
per task type holds every design pair of the Wilcoxon over that type's tasks.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sweeps.analysis.load import SweepData
from sweeps.analysis.metrics import higher_is_better, select_metrics, task_type
from sweeps.analysis.per_example import align, permutation_test
from sweeps.analysis.settings import AnalysisSettings
from sweeps.analysis.stats import aggregate, holm, over_tasks, pairwise
from sweeps.analysis.verdict import Verdict, decide

TEST_NAMES = {
    "ttest": ("p_ttest_holm", "paired t-test across seeds"),
    "wilcoxon": ("p_wilcoxon_holm", "Wilcoxon signed-rank across seeds"),
    "aso": ("aso_eps", "almost stochastic order across seeds"),
    "per_example": ("p_per_example_holm", "paired permutation test over per-example scores"),
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
    verdicts: list[Verdict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


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
    agg_rows, pair_frames, seed_frames = [], [], []
    for metric in metrics:
        hib = higher_is_better(metric, settings)
        sub = scores[scores["metric"] == metric]
        for design in designs:
            values = sub.loc[sub["design"] == design, "value"].to_numpy(float)
            agg_rows.append(
                {
                    "metric": metric,
                    "task_type": task_type(metric),
                    "design": design,
                    **aggregate(values),
                }
            )
        table = _seed_table(sub, designs)
        pairs = pairwise(table, settings.aso, hib)
        pairs.insert(0, "metric", metric)
        pairs["gain_a"] = pairs["mean_diff"] * (1 if hib else -1)
        pairs["p_wilcoxon_holm"] = holm(pairs["p_wilcoxon"])
        pairs["p_ttest_holm"] = holm(pairs["p_ttest"])
        combined, per_seed = _per_example_tests(data, finished, metric, pairs, settings)
        pairs = pairs.merge(combined, on=["design_a", "design_b"], how="left")
        pairs["p_per_example_holm"] = holm(pairs["p_per_example"])
        if not per_seed.empty:
            per_seed["p_holm"] = holm(per_seed["p"])
        pair_frames.append(pairs)
        seed_frames.append(per_seed)
    aggregates = pd.DataFrame(
        agg_rows, columns=["metric", "task_type", "design", "n", "mean", "std", "ci_low", "ci_high"]
    )
    all_pairs = _concat(pair_frames)
    per_seed = _concat(seed_frames)
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
        all_pairs,
        per_seed,
        pd.DataFrame(),
        notes=notes,
    )
    analysis.tasks = _task_tests(analysis)
    analysis.verdicts = _verdicts(analysis)
    return analysis


def resolve_baseline(wanted: str | None, designs: list[str], notes: list[str]) -> str | None:
    """``analysis.baseline`` matched to a design (any key order); default: first design, sorted."""
    if not designs:
        return None
    if wanted:
        key = _design_key(wanted)
        for design in designs:
            if design == wanted or _design_key(design) == key:
                return design
        notes.append(f"analysis.baseline {wanted!r} matches no design; using {designs[0]!r}")
    return designs[0]


def _design_key(design: str) -> frozenset[str]:
    return frozenset(part.strip() for part in re.split(r",(?=[\w.+~-]+=)", design))


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
) -> tuple[pd.DataFrame, pd.DataFrame]:
    runs = {(r.design, r.seed): r.run_id for r in finished.itertuples()}
    seeds = sorted({s for _, s in runs})
    combined_rows, seed_rows = [], []
    for pair in pairs.itertuples():
        aligned, statistic = [], None
        for seed in seeds:
            a = data.per_example.get((runs.get((pair.design_a, seed)), metric))
            b = data.per_example.get((runs.get((pair.design_b, seed)), metric))
            matched = align(a, b) if a is not None and b is not None else None
            if matched is None:
                continue
            statistic = a.statistic
            diff, p = permutation_test([matched], statistic, settings.n_permutations, settings.seed)
            seed_rows.append(
                {
                    "metric": metric,
                    "design_a": pair.design_a,
                    "design_b": pair.design_b,
                    "seed": seed,
                    "statistic": statistic,
                    "n_examples": len(matched.a),
                    "diff": diff,
                    "p": p,
                }
            )
            aligned.append(matched)
        diff, p = (
            permutation_test(aligned, statistic, settings.n_permutations, settings.seed)
            if aligned
            else (math.nan, math.nan)
        )
        combined_rows.append(
            {
                "design_a": pair.design_a,
                "design_b": pair.design_b,
                "n_seeds_per_example": len(aligned),
                "per_example_diff": diff,
                "p_per_example": p,
            }
        )
    combined = pd.DataFrame(
        combined_rows,
        columns=[
            "design_a",
            "design_b",
            "n_seeds_per_example",
            "per_example_diff",
            "p_per_example",
        ],
    )
    per_seed = pd.DataFrame(
        seed_rows,
        columns=["metric", "design_a", "design_b", "seed", "statistic", "n_examples", "diff", "p"],
    )
    return combined, per_seed


def _task_tests(analysis: Analysis) -> pd.DataFrame:
    frames = []
    for kind, metrics in _task_groups(analysis.metrics).items():
        if len(metrics) < 2:
            continue
        means = _oriented_means(analysis, metrics)
        tests = over_tasks(means)
        tests.insert(0, "task_type", kind)
        tests["gain_a"] = tests["mean_diff"]
        tests["p_wilcoxon_tasks_holm"] = holm(tests["p_wilcoxon_tasks"])
        frames.append(tests)
    return _concat(frames)


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


def verdict_test(analysis: Analysis, metric: str) -> str:
    """The test deciding a metric's verdicts (``analysis.test``; auto: per-example if present)."""
    if analysis.settings.test != "auto":
        return analysis.settings.test
    pairs = _rows(analysis.pairs, "metric", metric)
    return (
        "per_example"
        if "p_per_example" in pairs and pairs["p_per_example"].notna().any()
        else "ttest"
    )


def _rows(frame: pd.DataFrame, column: str, value: str) -> pd.DataFrame:
    return frame[frame[column] == value] if column in frame else frame


def _verdicts(analysis: Analysis) -> list[Verdict]:
    s = analysis.settings
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
        pairs = _rows(analysis.pairs, "metric", metric)
        verdicts.append(decide(verdict, analysis.designs, pairs, column, s.alpha, s.aso.max_eps))
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
        pairs = _rows(analysis.tasks, "task_type", kind)
        verdicts.append(
            decide(
                verdict, analysis.designs, pairs, "p_wilcoxon_tasks_holm", s.alpha, s.aso.max_eps
            )
        )
    return verdicts


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
