"""PNG plots (matplotlib, Agg): per metric the per-seed points with CI bars; p-value heatmaps.

Designs sit on the y axis, best mean first, with short wrapped labels (:mod:`labels`); the figure
grows with the number of designs and with the lines of their labels, so 20 designs stay legible.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from sweeps.analysis.analyze import TEST_NAMES, Analysis, verdict_test  # noqa: E402
from sweeps.analysis.key_plots import metric_by_key_figure  # noqa: E402
from sweeps.analysis.labels import short_labels  # noqa: E402
from sweeps.analysis.metrics import higher_is_better  # noqa: E402

LINE_INCHES = 0.16  # height of one label line at font size 8
ROW_INCHES = 0.42  # the least height of one design's row
DPI = 110


def safe_name(metric: str) -> str:
    return re.sub(r"[^\w.=-]+", "__", metric)


def make_plots(analysis: Analysis, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for metric in analysis.metrics:
        figures = {
            f"scores_{safe_name(metric)}.png": points_figure(analysis, metric),
            f"pvalues_{safe_name(metric)}.png": heatmap_figure(analysis, metric),
        }
        for name, fig in figures.items():
            if fig is not None:
                fig.savefig(folder / name, dpi=DPI)
                plt.close(fig)
                paths.append(folder / name)
    if analysis.sampled is not None:  # a search: where in the space the good configurations are
        metric = analysis.sampled.metric
        agg = analysis.aggregates[analysis.aggregates["metric"] == metric]
        fig = metric_by_key_figure(agg.set_index("design")["mean"], metric)
        if fig is not None:
            fig.savefig(folder / f"by_key_{safe_name(metric)}.png", dpi=DPI)
            plt.close(fig)
            paths.append(folder / f"by_key_{safe_name(metric)}.png")
    return paths


def ranked(analysis: Analysis, metric: str) -> list[str]:
    """The designs by mean of ``metric``, best first; designs without a mean last."""
    agg = analysis.aggregates[analysis.aggregates["metric"] == metric].set_index("design")["mean"]
    sign = -1.0 if higher_is_better(metric, analysis.settings) else 1.0
    key = {d: sign * agg.get(d, math.nan) for d in analysis.designs}
    return sorted(analysis.designs, key=lambda d: (not math.isfinite(key[d]), key[d], d))


def _row_height(labels: list[str]) -> float:
    return max(ROW_INCHES, 0.12 + LINE_INCHES * max((label.count("\n") + 1 for label in labels), default=1))


def points_figure(analysis: Analysis, metric: str) -> Figure:
    designs = ranked(analysis, metric)
    labels = short_labels(designs)
    scores = analysis.scores[analysis.scores["metric"] == metric]
    agg = analysis.aggregates[analysis.aggregates["metric"] == metric].set_index("design")
    height = 1.4 + _row_height(labels) * max(len(designs), 1)
    fig, ax = plt.subplots(figsize=(9, height), layout="constrained")
    rng = np.random.default_rng(0)
    for i, design in enumerate(designs):
        values = scores.loc[scores["design"] == design, "value"].to_numpy(float)
        ax.scatter(values, i + rng.uniform(-0.12, 0.12, len(values)), s=18, alpha=0.7, color="tab:blue")
        if design in agg.index and math.isfinite(agg.loc[design, "mean"]):
            row = agg.loc[design]
            err = None
            if math.isfinite(row["ci_low"]):
                err = [[row["mean"] - row["ci_low"]], [row["ci_high"] - row["mean"]]]
            ax.errorbar([row["mean"]], [i], xerr=err, fmt="D", color="black", capsize=4, markersize=5)
    ax.set_yticks(range(len(designs)), labels=labels, fontsize=8)
    ax.set_ylim(len(designs) - 0.5, -0.5)  # best on top
    ax.set_xlabel(f"{metric} (points: seeds; diamond and bars: mean and 95% CI, clipped to its range)")
    ax.set_title(f"{metric}, best mean first", fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    return fig


def heatmap_figure(analysis: Analysis, metric: str) -> Figure | None:
    test = verdict_test(analysis, metric)
    column, label = TEST_NAMES[test]
    pairs = analysis.pairs
    if pairs.empty or "metric" not in pairs or len(analysis.designs) < 2:
        return None
    pairs = pairs[pairs["metric"] == metric]
    designs = ranked(analysis, metric)
    labels = short_labels(designs)
    matrix = pd.DataFrame(np.nan, index=designs, columns=designs)
    for row in pairs.itertuples():
        matrix.loc[row.design_a, row.design_b] = getattr(row, column)
        matrix.loc[row.design_b, row.design_a] = getattr(row, column)
    n = len(designs)
    cell = max(0.5, _row_height(labels))
    fig, ax = plt.subplots(figsize=(6 + 0.5 * n, 1.8 + cell * n), layout="constrained")
    image = ax.imshow(matrix.to_numpy(float), vmin=0, vmax=1, cmap="viridis_r", aspect="auto")
    for i in range(n):
        for j in range(n):
            value = matrix.iat[i, j]
            text = "—" if i == j else ("n/a" if not math.isfinite(value) else f"{value:.2g}")
            dark = math.isfinite(value) and value >= 0.5  # viridis_r is dark at the top of the scale
            ax.text(j, i, text, ha="center", va="center", fontsize=7, color="white" if dark else "black")
    ax.set_xticks(range(n), labels=[f"D{i + 1}" for i in range(n)], fontsize=7)
    ax.set_yticks(range(n), labels=[f"D{i + 1}: {text}" for i, text in enumerate(labels)], fontsize=7)
    ax.set_title(
        f"{metric}: {'eps_min' if test == 'aso' else 'Holm-corrected p'} ({label}); best mean first",
        fontsize=9,
    )
    fig.colorbar(image, ax=ax, shrink=0.8)
    return fig
