"""The PNG plots stay legible with 7 and with 20 designs: the figure grows, every design keeps a
label of its own, no two labels overlap, best mean first. Examples go to tests/artifacts/plots/."""

from __future__ import annotations

from functools import cache
from itertools import pairwise
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from matplotlib.image import imread

from sweeps.analysis.analyze import analyze
from sweeps.analysis.labels import short_labels
from sweeps.analysis.plots import heatmap_figure, make_plots, points_figure, ranked
from sweeps.analysis.settings import AnalysisSettings
from tests.sweeps.analysis.analysis_helpers import many_designs, sweep_data

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "plots"


@cache
def _analysis(n: int):
    settings = AnalysisSettings.from_config({"target": "val_acc", "aso": {"enabled": False}})
    return analyze(sweep_data(many_designs(n)), settings)


def _label_boxes(fig):
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]  # the plot itself (the heatmap's colorbar comes second)
    return [t.get_window_extent(renderer) for t in ax.get_yticklabels()], ax


@pytest.mark.parametrize("make", [points_figure, heatmap_figure])
def test_twenty_designs_get_a_taller_figure_and_every_label_clear(make):
    heights = {}
    for n in (7, 20):
        analysis = _analysis(n)
        fig = make(analysis, "val_acc")
        heights[n] = fig.get_size_inches()[1]
        boxes, ax = _label_boxes(fig)
        labels = [t.get_text() for t in ax.get_yticklabels()]
        assert len(labels) == n
        for label, short in zip(labels, short_labels(ranked(analysis, "val_acc")), strict=True):
            assert label.endswith(short)  # the heatmap prefixes D1:, D2:, ...
        # top to bottom, each label ends above the next one starts, and inside the figure
        for upper, lower in pairwise(boxes):
            assert upper.y0 >= lower.y1, f"labels overlap: {labels}"
        width, height = fig.canvas.get_width_height()
        assert all(b.x0 >= 0 and b.y0 >= 0 and b.y1 <= height for b in boxes)
        plt.close(fig)
    assert heights[20] > 2 * heights[7]


def test_designs_are_sorted_by_mean_and_labels_shortened():
    analysis = _analysis(7)
    order = ranked(analysis, "val_acc")
    means = analysis.aggregates.set_index("design").loc[order, "mean"].tolist()
    assert means == sorted(means, reverse=True)
    label = short_labels(["model.encoder.hidden=64,optim.lr=0.000123456,pool.type=mean"])[0]
    assert label == "hidden=64, lr=0.0001235, type=mean"
    # two keys with the same last segment keep their full names
    assert short_labels(["a.lr=1,b.lr=2"]) == ["a.lr=1, b.lr=2"]


def test_example_pngs_for_seven_and_twenty_designs_grow_with_the_designs():
    sizes = {}
    for n in (7, 20):
        paths = make_plots(_analysis(n), ARTIFACTS / f"{n}_designs")
        assert {p.name for p in paths} == {"scores_val_acc.png", "pvalues_val_acc.png"}
        sizes[n] = imread(paths[0]).shape[:2]  # (height, width) in pixels
    assert sizes[20][0] > 2 * sizes[7][0] and sizes[20][1] == sizes[7][1]
