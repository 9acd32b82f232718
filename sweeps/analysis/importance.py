"""Which swept keys matter: each key's association with a metric over the sampled configurations.

One row per swept key, tested over the designs' seed means (the sampled configurations are the
independent draws; seeds only make each draw's score less noisy):
- a numeric key (every value parses as a number): Spearman's rank correlation of its value with the
  metric (``scipy.stats.spearmanr``; rank-based, so a log-scale axis needs no transform);
- any other key: the Kruskal–Wallis H test across the groups of its values (``scipy.stats.kruskal``).
Holm–Bonferroni across the keys that could be tested. A key that cannot be tested says why.
"""

from __future__ import annotations

import math
import warnings

import pandas as pd
from scipy import stats

from sweeps.analysis.designs import design_key
from sweeps.analysis.stats import holm

IMPORTANCE_COLUMNS = ["key", "kind", "n_designs", "n_values", "test", "statistic", "p", "p_holm", "note"]
MIN_DESIGNS = 3  # a correlation or a rank test over fewer configurations says nothing


def design_values(design: str) -> dict[str, str]:
    """``"optim.lr=0.01,model.hidden=16"`` → ``{"optim.lr": "0.01", "model.hidden": "16"}``."""
    return dict(part.split("=", 1) for part in design_key(design) if "=" in part)


def as_number(value: str) -> float | None:
    if value.strip().lower() in ("true", "false", "nan", "inf", "-inf"):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def key_importance(means: pd.Series) -> pd.DataFrame:
    """``means``: the metric's seed mean per design (index: design strings, NaN-free)."""
    table = pd.DataFrame([design_values(d) for d in means.index], index=means.index)
    rows = [_one_key(key, table[key], means) for key in sorted(table.columns)]
    frame = pd.DataFrame(rows, columns=IMPORTANCE_COLUMNS)
    frame["p_holm"] = holm(frame["p"])
    return frame


def _one_key(key: str, values: pd.Series, means: pd.Series) -> dict:
    present = values.notna()
    values, y = values[present], means[present]
    numbers = values.map(as_number)
    numeric = bool(len(values)) and numbers.notna().all()
    row = {
        "key": key,
        "kind": "numeric" if numeric else "categorical",
        "n_designs": len(values),
        "n_values": values.nunique(),
        "test": "Spearman rho" if numeric else "Kruskal-Wallis H",
        "statistic": math.nan,
        "p": math.nan,
        "note": "",
    }
    if len(values) < MIN_DESIGNS:
        row["note"] = f"fewer than {MIN_DESIGNS} designs"
    elif row["n_values"] < 2:
        row["note"] = "one value only"
    elif y.nunique() < 2:
        row["note"] = "the metric is the same for every design"
    elif numeric:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = stats.spearmanr(numbers.to_numpy(float), y.to_numpy(float))
        # |rho| = 1 gives p = 0 from the t approximation; no permutation test of n points can go
        # below 2/n! (the identity and the reversed order), so that floor is the defensible p
        floor = 2 / math.factorial(len(values)) if len(values) < 20 else 0.0
        row.update(statistic=float(result.statistic), p=max(float(result.pvalue), floor))
    elif row["n_values"] == len(values):
        row["note"] = "every value seen once: no groups to compare"
    else:
        groups = [y[values == v].to_numpy(float) for v in sorted(values.unique())]
        result = stats.kruskal(*groups)
        row.update(statistic=float(result.statistic), p=float(result.pvalue))
    return row
