"""Statistics over designs × seeds: aggregates, seed-matched pairwise tests, over tasks, Holm.

Only glue lives here: every test is scipy's, statsmodels' or deepsig's. Degenerate inputs (fewer
than two seed-matched pairs, identical scores, NaN) give NaN p-values, never an exception; identical
paired scores give p = 1 (no difference at all).
"""

from __future__ import annotations

import math
import warnings
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from sweeps.analysis.settings import AsoSettings

NAN = float("nan")


def aggregate(values: np.ndarray, confidence: float = 0.95) -> dict[str, float]:
    """n, mean, std (ddof=1) and a t confidence interval across seeds (NaN scores dropped)."""
    x = np.asarray(values, float)
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return {"n": 0, "mean": NAN, "std": NAN, "ci_low": NAN, "ci_high": NAN}
    mean = float(np.mean(x))
    if n == 1:
        return {"n": 1, "mean": mean, "std": NAN, "ci_low": NAN, "ci_high": NAN}
    std = float(np.std(x, ddof=1))
    if std == 0:
        return {"n": n, "mean": mean, "std": 0.0, "ci_low": mean, "ci_high": mean}
    low, high = stats.t.interval(confidence, n - 1, loc=mean, scale=stats.sem(x))
    return {"n": n, "mean": mean, "std": std, "ci_low": float(low), "ci_high": float(high)}


def paired_tests(
    a: np.ndarray,
    b: np.ndarray,
    aso: AsoSettings | None = None,
    higher_is_better: bool = True,
    num_comparisons: int = 1,
) -> dict[str, float]:
    """Seed-matched A vs B: mean difference, Cohen's d_z, Wilcoxon, paired t, ASO eps_min.

    ``aso_eps`` is deepsig's eps_min for "the better-mean design of the two stochastically dominates
    the other" (oriented by ``higher_is_better``); ``aso_better`` names which one (``a`` or ``b``).
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    n = len(a)
    out = {
        "n_pairs": n,
        "mean_diff": NAN,
        "cohens_dz": NAN,
        "p_wilcoxon": NAN,
        "p_ttest": NAN,
        "aso_eps": NAN,
        "aso_better": "",
    }
    if n == 0:
        return out
    diff = a - b
    out["mean_diff"] = float(np.mean(diff))
    if n < 2:
        return out
    sd = float(np.std(diff, ddof=1))
    if np.all(diff == 0):
        out.update(cohens_dz=0.0, p_wilcoxon=1.0, p_ttest=1.0)
    else:
        out["cohens_dz"] = (
            out["mean_diff"] / sd if sd > 0 else math.copysign(math.inf, out["mean_diff"])
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out["p_wilcoxon"] = float(stats.wilcoxon(a, b).pvalue)
            # a constant non-zero difference has no variance: the t statistic is undefined
            out["p_ttest"] = float(stats.ttest_rel(a, b).pvalue) if sd > 0 else NAN
    if aso is not None and aso.enabled and n >= aso.min_seeds:
        out.update(aso_test(a, b, aso, higher_is_better, num_comparisons))
    return out


def aso_test(
    a: np.ndarray,
    b: np.ndarray,
    settings: AsoSettings,
    higher_is_better: bool = True,
    num_comparisons: int = 1,
) -> dict[str, float | str]:
    """deepsig's ASO, run once: the better-mean side as ``scores_a`` (negated when minimised)."""
    try:
        from deepsig import aso
    except ImportError:  # deepsig is the optional `stats` extra: ASO is then n/a
        return {"aso_eps": NAN, "aso_better": ""}
    sign = 1.0 if higher_is_better else -1.0
    a_better = sign * (np.mean(a) - np.mean(b)) >= 0
    first, second = (a, b) if a_better else (b, a)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            eps = aso(
                list(sign * first),
                list(sign * second),
                num_bootstrap_iterations=settings.n_bootstrap,
                num_comparisons=num_comparisons,
                seed=settings.seed,
                show_progress=False,
            )
    except Exception:  # noqa: BLE001 - a degenerate input must give n/a, never fail the report
        return {"aso_eps": NAN, "aso_better": ""}
    return {"aso_eps": float(eps), "aso_better": "a" if a_better else "b"}


def pairwise(table: pd.DataFrame, aso: AsoSettings | None, higher_is_better: bool) -> pd.DataFrame:
    """All design pairs (A < B in sorted order) of a seeds × designs table, on seed-matched rows.

    ASO gets ``num_comparisons`` = the number of pairs: deepsig's own Bonferroni adjustment of its
    confidence level (eps_min is not a p-value, so Holm does not apply to it).
    """
    pairs = list(combinations(sorted(table.columns), 2))
    rows = []
    for first, second in pairs:
        a, b = table[first].to_numpy(), table[second].to_numpy()
        rows.append(
            {
                "design_a": first,
                "design_b": second,
                **paired_tests(a, b, aso, higher_is_better, num_comparisons=len(pairs)),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "design_a",
            "design_b",
            "n_pairs",
            "mean_diff",
            "cohens_dz",
            "p_wilcoxon",
            "p_ttest",
            "aso_eps",
            "aso_better",
        ],
    )


def over_tasks(means: pd.DataFrame) -> pd.DataFrame:
    """Wilcoxon signed-rank over tasks (rows) of oriented per-task means, for every design pair."""
    rows = []
    for first, second in combinations(sorted(means.columns), 2):
        a, b = means[first].to_numpy(float), means[second].to_numpy(float)
        keep = np.isfinite(a) & np.isfinite(b)
        a, b = a[keep], b[keep]
        p = NAN
        if len(a) >= 2:
            if np.all(a == b):
                p = 1.0
            else:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    p = float(stats.wilcoxon(a, b).pvalue)
        wins = int(np.sum(a > b))
        rows.append(
            {
                "design_a": first,
                "design_b": second,
                "n_tasks": len(a),
                "mean_diff": float(np.mean(a - b)) if len(a) else NAN,
                "wins_a": wins,
                "wins_b": int(np.sum(b > a)),
                "p_wilcoxon_tasks": p,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "design_a",
            "design_b",
            "n_tasks",
            "mean_diff",
            "wins_a",
            "wins_b",
            "p_wilcoxon_tasks",
        ],
    )


def holm(pvalues: pd.Series) -> pd.Series:
    """Holm–Bonferroni over one family (NaN p-values are left out of the family and stay NaN)."""
    p = pd.Series(pvalues, dtype=float)
    out = pd.Series(np.nan, index=p.index)
    valid = p.notna()
    if valid.any():
        out[valid] = holm_adjust(p[valid].to_numpy())
    return out


def holm_adjust(pvalues: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values, as statsmodels' ``multipletests(method="holm")``
    computes them; our own few lines because statsmodels runs a full ``gc.collect()`` on every
    call, which takes most of a second in a process holding MLflow and pandas."""
    p = np.asarray(pvalues, dtype=float)
    order = np.argsort(p, kind="stable")
    scaled = p[order] * np.arange(len(p), 0, -1)
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return adjusted
