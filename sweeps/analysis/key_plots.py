"""The sampled-search plot: the metric's seed mean of every configuration against each swept key.

One panel per key; numeric keys on a number axis (logarithmic when the values span two decades or
more, as learning rates do), other keys as categories. It shows the region of the space that is
good, which a ranking of single configurations does not.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from sweeps.analysis.importance import as_number, design_values  # noqa: E402

LOG_SPAN = 100.0  # max / min of a positive numeric key from which its axis is logarithmic


def metric_by_key_figure(means: pd.Series, metric: str) -> Figure | None:
    """``means``: the metric's seed mean per design (index: design strings)."""
    means = means.dropna()
    table = pd.DataFrame([design_values(d) for d in means.index], index=means.index)
    keys = [k for k in sorted(table.columns) if table[k].nunique() > 1]
    if not keys or len(means) < 2:
        return None
    fig, axes = plt.subplots(1, len(keys), figsize=(3.6 * len(keys), 3.2), squeeze=False, sharey=True)
    for ax, key in zip(axes[0], keys, strict=True):
        _panel(ax, table[key], means, key)
    axes[0][0].set_ylabel(metric)
    fig.suptitle(f"{metric}: seed mean per configuration, by swept key", fontsize=10)
    fig.tight_layout()
    return fig


def _panel(ax, values: pd.Series, means: pd.Series, key: str) -> None:
    present = values.notna()
    values, y = values[present], means[present]
    numbers = [as_number(str(v)) for v in values]
    if all(n is not None for n in numbers):
        ax.scatter(numbers, y, s=24, alpha=0.8)
        positive = [n for n in numbers if n > 0]
        if len(positive) == len(numbers) and max(positive) / min(positive) >= LOG_SPAN:
            ax.set_xscale("log")
    else:
        categories = sorted({str(v) for v in values})
        position = {c: i for i, c in enumerate(categories)}
        ax.scatter([position[str(v)] for v in values], y, s=24, alpha=0.8)
        ax.set_xticks(range(len(categories)), categories, rotation=30, ha="right", fontsize=8)
    ax.set_xlabel(key, fontsize=9)
    ax.grid(alpha=0.3)
