"""A random search gets a report that says what it did with the sampled values: the top-k
configurations with their seed repeats and an importance table of the swept keys."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sweeps.analysis.analyze import analyze
from sweeps.analysis.importance import key_importance
from sweeps.analysis.render import run_description, verdict_text
from sweeps.analysis.sampled import sampled_reason
from sweeps.analysis.settings import AnalysisSettings
from tests.sweeps.analysis.analysis_helpers import sweep_data

RANDOM = {"sweep": {"search": "random", "space": {"optim": {"lr": "tag(log, interval(1e-4, 1e-1))"},
                                                   "pooling": "choice(mean,cls,max)"}}}
SETTINGS = {"target": "val_acc", "aso": {"enabled": False}}


def _random_search(seeds: int = 1) -> dict[str, list[float]]:
    """12 sampled configurations: accuracy rises with the learning rate; pooling adds nothing."""
    rng = np.random.default_rng(3)
    lrs = np.geomspace(1e-4, 1e-1, 12) * rng.uniform(0.9, 1.1, 12)
    return {
        f"optim.lr={lr!r},pooling={['mean', 'cls', 'max'][i % 3]}": list(
            0.6 + 0.02 * i + rng.normal(0, 0.005, seeds)
        )
        for i, lr in enumerate(lrs.tolist())
    }


def test_random_search_reports_top_configurations_and_key_importance():
    data = sweep_data(_random_search())
    data.config = RANDOM
    analysis = analyze(data, AnalysisSettings.from_config(SETTINGS))
    sampled = analysis.sampled
    assert sampled is not None and sampled.metric == "val_acc"
    assert "sweep.search=random, interval axes: optim.lr" in sampled.line
    assert "12 designs, seeds per design: 1" in sampled.line
    assert "Design-against-design verdicts need seed repeats" in sampled.line
    top = sampled.top
    assert len(top) == 10 and list(top["rank"]) == list(range(1, 11))
    assert top["mean"].is_monotonic_decreasing
    assert {"optim.lr", "pooling", "n_seeds", "seed_scores"} <= set(top.columns)
    imp = sampled.importance.set_index("key")
    assert imp.loc["optim.lr", "test"] == "Spearman rho" and imp.loc["optim.lr", "statistic"] > 0.9
    assert imp.loc["optim.lr", "p_holm"] < 0.01
    assert imp.loc["pooling", "test"] == "Kruskal-Wallis H" and imp.loc["pooling", "p"] > 0.05
    text = verdict_text(analysis)
    assert "sampled search on val_acc" in text and "importance of the swept keys" in text
    assert "sampled search" in run_description(analysis)


def test_repeats_of_a_sampled_configuration_are_listed_with_it():
    data = sweep_data(_random_search(seeds=3))
    data.config = RANDOM
    analysis = analyze(data, AnalysisSettings.from_config(SETTINGS))
    best = analysis.sampled.top.iloc[0]
    assert best["n_seeds"] == 3 and len(best["seed_scores"].split(", ")) == 3
    assert best["ci_low"] < best["mean"] < best["ci_high"] <= 1


def test_a_grid_with_one_seed_per_design_is_read_as_a_sample_too():
    data = sweep_data({f"model.hidden={h}": [0.5 + h / 1000] for h in (8, 16, 32, 64, 128)})
    analysis = analyze(data, AnalysisSettings.from_config(SETTINGS))
    assert analysis.sampled.line.startswith("5 of 5 designs have a single seed")
    assert analysis.sampled.importance.loc[0, "p"] < 0.05  # rho = 1 over 5 designs


def test_a_grid_with_seed_repeats_gets_no_sampled_section():
    data = sweep_data({"a=1": [0.5, 0.6, 0.55], "a=2": [0.7, 0.8, 0.75], "a=3": [0.1, 0.2, 0.3]})
    assert analyze(data, AnalysisSettings.from_config(SETTINGS)).sampled is None
    assert sampled_reason({}, {}, pd.Series([3, 3, 1])) is None
    # an interval axis in the space as run (the parent's sweep.space tag) makes it a sample, even
    # under grid search and with seed repeats
    reason = sampled_reason({"sweep": {"search": "grid"}}, {"optim.lr": "interval(0.001,0.1)"}, pd.Series([3, 3, 3]))
    assert reason == "sampled search (interval axes: optim.lr)"


def test_every_untestable_key_says_why():
    means = pd.Series(
        [0.5, 0.6, 0.7, 0.8],
        index=["a=1,b=x,c=p", "a=2,b=x,c=q", "a=3,b=x,c=r", "a=4,b=x,c=s"],
    )
    imp = key_importance(means).set_index("key")
    assert math.isfinite(imp.loc["a", "p"])
    assert imp.loc["b", "note"] == "one value only" and math.isnan(imp.loc["b", "p"])
    assert imp.loc["c", "note"] == "every value seen once: no groups to compare"
    few = key_importance(means.head(2))
    assert (few["note"] == "fewer than 3 designs").all()


def test_the_parent_description_fits_mlflows_tag_limit_and_keeps_its_last_line():
    names = {f"optim.lr={0.001 * (i + 1)!r},model.name=a_rather_long_model_name_{i}": [0.5 + i / 100] for i in range(60)}
    data = sweep_data(names)
    data.config = RANDOM
    text = run_description(analyze(data, AnalysisSettings.from_config(SETTINGS)))
    assert len(text) <= 8000 and text.endswith("artifacts `report/report.html`.")
    assert "sampled search on val_acc" in text


@pytest.mark.parametrize("search", ["optuna", "bohb"])
def test_a_searcher_sweep_is_read_as_sampled_even_with_seed_repeats(search):
    reason = sampled_reason({"sweep": {"search": search}}, {"model.hidden": "choice(32,64)"}, pd.Series([3, 3]))
    assert reason == f"sampled search (sweep.search={search})"


def test_a_search_report_plots_the_metric_against_each_swept_key(tmp_path):
    from sweeps.analysis.key_plots import metric_by_key_figure
    from sweeps.analysis.plots import make_plots

    means = pd.Series(
        [0.5, 0.7, 0.9, 0.6, 0.8],
        index=[f"optim.lr={lr},model.act={act}" for lr, act in
               [(1e-4, "relu"), (1e-3, "gelu"), (1e-2, "relu"), (1e-4, "gelu"), (1e-1, "relu")]],
    )
    fig = metric_by_key_figure(means, "val_acc")
    axes = {ax.get_xlabel(): ax for ax in fig.axes}
    assert set(axes) == {"model.act", "optim.lr"}
    assert axes["optim.lr"].get_xscale() == "log"  # three decades of learning rate
    assert [t.get_text() for t in axes["model.act"].get_xticklabels()] == ["gelu", "relu"]
    assert metric_by_key_figure(means.iloc[:1], "val_acc") is None  # nothing to plot

    data = sweep_data(_random_search())
    data.config = RANDOM
    analysis = analyze(data, AnalysisSettings.from_config(SETTINGS))
    assert analysis.sampled is not None
    assert any(p.name.startswith("by_key_") for p in make_plots(analysis, tmp_path))
