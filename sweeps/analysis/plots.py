"""PNG plots (matplotlib, Agg): per metric the per-seed points with CI bars; p-value heatmaps."""

from __future__ import annotations

import math
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sweeps.analysis.analyze import TEST_NAMES, Analysis, verdict_test  # noqa: E402


def safe_name(metric: str) -> str:
    return re.sub(r"[^\w.=-]+", "__", metric)


def make_plots(analysis: Analysis, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for metric in analysis.metrics:
        paths.append(_points(analysis, metric, folder / f"scores_{safe_name(metric)}.png"))
        heatmap = _heatmap(analysis, metric, folder / f"pvalues_{safe_name(metric)}.png")
        if heatmap is not None:
            paths.append(heatmap)
    return paths


def _points(analysis: Analysis, metric: str, path: Path) -> Path:
    designs = analysis.designs
    scores = analysis.scores[analysis.scores["metric"] == metric]
    agg = analysis.aggregates[analysis.aggregates["metric"] == metric].set_index("design")
    fig, ax = plt.subplots(figsize=(8, 1.4 + 0.45 * max(len(designs), 1)), layout="constrained")
    rng = np.random.default_rng(0)
    for i, design in enumerate(designs):
        values = scores.loc[scores["design"] == design, "value"].to_numpy(float)
        ax.scatter(
            values, i + rng.uniform(-0.12, 0.12, len(values)), s=18, alpha=0.7, color="tab:blue"
        )
        if design in agg.index and math.isfinite(agg.loc[design, "mean"]):
            row = agg.loc[design]
            err = None
            if math.isfinite(row["ci_low"]):
                err = [[row["mean"] - row["ci_low"]], [row["ci_high"] - row["mean"]]]
            ax.errorbar(
                [row["mean"]], [i], xerr=err, fmt="D", color="black", capsize=4, markersize=5
            )
    ax.set_yticks(range(len(designs)), labels=designs, fontsize=8)
    ax.set_xlabel(f"{metric} (points: seeds; diamond and bars: mean and 95% CI)")
    ax.invert_yaxis()
    ax.grid(axis="x", alpha=0.3)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _heatmap(analysis: Analysis, metric: str, path: Path) -> Path | None:
    test = verdict_test(analysis, metric)
    column, label = TEST_NAMES[test]
    pairs = analysis.pairs
    if pairs.empty or "metric" not in pairs or len(analysis.designs) < 2:
        return None
    pairs = pairs[pairs["metric"] == metric]
    designs = analysis.designs
    matrix = pd.DataFrame(np.nan, index=designs, columns=designs)
    for row in pairs.itertuples():
        matrix.loc[row.design_a, row.design_b] = getattr(row, column)
        matrix.loc[row.design_b, row.design_a] = getattr(row, column)
    n = len(designs)
    fig, ax = plt.subplots(figsize=(4.5 + 0.9 * n, 1.8 + 0.7 * n), layout="constrained")
    image = ax.imshow(matrix.to_numpy(float), vmin=0, vmax=1, cmap="viridis_r")
    for i in range(n):
        for j in range(n):
            value = matrix.iat[i, j]
            ax.text(
                j,
                i,
                "—" if i == j else ("n/a" if not math.isfinite(value) else f"{value:.3g}"),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if value < 0.5 else "black",
            )
    short = [f"D{i}" for i in range(n)]
    ax.set_xticks(range(n), labels=short)
    ax.set_yticks(range(n), labels=[f"D{i}: {d}" for i, d in enumerate(designs)], fontsize=7)
    ax.set_title(
        f"{metric}: {'eps_min' if test == 'aso' else 'Holm-corrected p'}\n({label})", fontsize=9
    )
    fig.colorbar(image, ax=ax, shrink=0.8)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
