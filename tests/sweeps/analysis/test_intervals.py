"""Confidence intervals stay inside a metric's declared range (analysis.bounds)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from sweeps.analysis.analyze import analyze
from sweeps.analysis.intervals import metric_bounds
from sweeps.analysis.render import markdown_report, verdict_text
from sweeps.analysis.settings import DEFAULT_BOUNDS, AnalysisSettings
from sweeps.analysis.stats import aggregate
from sweeps.config import compose_config
from tests.sweeps.analysis.analysis_helpers import sweep_data


def _row(analysis, design):
    agg = analysis.aggregates
    return agg[agg["design"] == design].iloc[0]


def test_an_accuracy_near_one_gets_an_interval_inside_zero_one():
    values = [0.99, 1.0, 0.97]
    assert aggregate(np.array(values))["ci_high"] > 1  # the plain t interval leaves the range
    data = sweep_data({"a=1": values, "a=2": [0.5, 0.6, 0.55]})
    analysis = analyze(data, AnalysisSettings(target="val_acc"))
    row = _row(analysis, "a=1")
    assert row["ci_high"] == 1.0 and 0.9 < row["ci_low"] < 0.97
    assert row["range"] == "[0, 1]"
    assert "clipped to the metric's declared range" in verdict_text(analysis)
    assert "clipped to the metric's declared range" in markdown_report(analysis, [])


def test_correlations_clip_to_minus_one_one_and_unknown_metrics_stay_unbounded():
    values = [-0.98, -1.0, -0.9]
    spearman = analyze(
        sweep_data({"a=1": values, "a=2": [0.1, 0.2, 0.3]}, metric="sts/stsb/spearman"),
        AnalysisSettings(target="sts/stsb/spearman"),
    )
    assert _row(spearman, "a=1")["ci_low"] == -1.0
    loss = analyze(
        sweep_data({"a=1": [0.01, 0.2, 0.02], "a=2": [1, 2, 3]}, metric="val_loss"),
        AnalysisSettings(target="val_loss", mode="min"),
    )
    row = _row(loss, "a=1")
    assert row["range"] == "unbounded" and row["ci_low"] < 0  # nothing declared: nothing clipped


def test_a_score_outside_its_declared_range_disables_clipping_with_a_warning():
    percent = [97.0, 99.0, 98.5]  # an accuracy logged in percent: [0, 1] is the wrong declaration
    analysis = analyze(sweep_data({"a=1": percent, "a=2": percent}), AnalysisSettings(target="val_acc"))
    row = _row(analysis, "a=1")
    assert row["range"] == "[0, 1] ignored" and row["ci_high"] > 99
    assert any("outside its declared range" in w for w in analysis.warnings)


def test_the_studys_bounds_come_first_then_the_defaults_and_null_means_unbounded():
    settings = AnalysisSettings.from_config(
        {"bounds": [{"metric": "cl/*/acc", "range": None}, {"metric": "heldout/acc", "range": [0, 100]}]}
    )
    assert metric_bounds("val_acc", settings.ranges) == (0.0, 1.0)
    assert metric_bounds("cl/split_mnist/acc", settings.ranges) is None
    assert metric_bounds("heldout/acc", settings.ranges) == (0.0, 100.0)
    assert metric_bounds("retrieval/stsb/ndcg_at_10", settings.ranges) == (0.0, 1.0)
    assert metric_bounds("sts/stsb/spearman", settings.ranges) == (-1.0, 1.0)
    assert metric_bounds("gap", settings.ranges) is None


def test_the_composed_config_takes_its_defaults_from_the_schema():
    shipped = OmegaConf.load(Path(__file__).resolve().parents[3] / "conf/analysis/default.yaml")
    assert "default_bounds" not in shipped  # declared once, in the schema
    composed = compose_config(["+experiment=smoke"]).analysis
    assert OmegaConf.to_container(composed.default_bounds) == DEFAULT_BOUNDS
    assert AnalysisSettings.from_config(OmegaConf.to_container(composed, resolve=True)).ranges == (
        AnalysisSettings(target="val_acc").ranges
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"bounds": [{"metric": "x", "range": [1, 0]}]},
        {"bounds": [{"metric": "x", "range": "0,1"}]},
        {"bounds": [{"metric": "x", "range": [0]}]},
        {"bounds": [{"metric": "x"}]},
        {"bounds": {"x": [0, 1]}},
        {"default_bounds": [{"metric": "x", "range": [2, 1]}]},
    ],
)
def test_bad_bounds_are_refused_with_their_key(bad):
    with pytest.raises(ValueError, match=f"analysis.{next(iter(bad))}"):
        AnalysisSettings.from_config(bad)


def test_one_seed_has_no_interval_to_clip():
    analysis = analyze(sweep_data({"a=1": [1.0], "a=2": [0.5]}), AnalysisSettings(target="val_acc"))
    assert math.isnan(_row(analysis, "a=1")["ci_high"])
