"""The analysis on synthetic sweeps: verdicts, degenerate cases, task types, settings."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pandas as pd
import pytest
from analysis_helpers import scores_frame, sweep_data
from statsmodels.stats.multitest import multipletests

from sweeps.analysis import AnalysisSettings, AsoSettings, verdict_text, write_report
from sweeps.analysis.analyze import analyze
from sweeps.analysis.load import RUN_COLUMNS, SweepData
from sweeps.analysis.metrics import higher_is_better, select_metrics, task_type
from sweeps.analysis.verdict import BETTER, NA, SAME, WORSE
from sweeps.config import CONFIG_DIR, compose_config
from sweeps.errors import SweepConfigError

FAST = {"aso": {"enabled": True, "n_bootstrap": 50}, "n_permutations": 200}


def settings(**kw) -> AnalysisSettings:
    return AnalysisSettings.from_config({"target": "val_acc", **FAST, **kw})


@pytest.mark.parametrize("test", ["auto", "ttest", "wilcoxon", "aso"])
def test_clear_winner_and_baseline_verdicts(test):
    rng = np.random.default_rng(0)
    base = rng.normal(0.80, 0.01, 10)
    data = sweep_data(
        {
            "a=1": list(base),
            "a=2": list(base + 0.05 + rng.normal(0, 0.003, 10)),
            "a=3": list(base - 0.05 + rng.normal(0, 0.003, 10)),
            "a=4": list(base + rng.normal(0, 0.01, 10)),
        }
    )
    result = analyze(data, settings(test=test))
    [verdict] = result.verdicts
    assert verdict.best == "a=2" and verdict.baseline == "a=1"
    assert verdict.not_worse == []
    assert verdict.vs_baseline["a=2"][0] == BETTER
    assert verdict.vs_baseline["a=3"][0] == WORSE
    assert verdict.vs_baseline["a=4"][0] == SAME
    text = verdict_text(result)
    assert "best: a=2" in text and "worse" in text


def test_baseline_setting_matches_design_in_any_key_order():
    data = sweep_data({"m.h=16,o.lr=0.1": [0.5, 0.6], "m.h=64,o.lr=0.1": [0.7, 0.8]})
    result = analyze(data, settings(baseline="o.lr=0.1,m.h=64"))
    assert result.baseline == "m.h=64,o.lr=0.1"
    unknown = analyze(data, settings(baseline="nope=1"))
    assert unknown.baseline == "m.h=16,o.lr=0.1" and "matches no design" in unknown.notes[0]


@pytest.mark.parametrize(
    "scores",
    [
        {"a=1": [0.9], "a=2": [0.8]},  # one seed
        {"a=1": [0.9, 0.9], "a=2": [0.9, 0.9]},  # identical
        {"a=1": [np.nan, 0.9], "a=2": [0.8, np.nan]},  # NaN, nothing seed-matched
        {"a=1": [0.9, 0.8, 0.85]},  # a single design
        {"a=1": [np.nan], "a=2": [np.nan]},  # no value at all
    ],
)
def test_degenerate_cases_never_crash(scores, tmp_path):
    result = analyze(sweep_data(scores), settings())
    text = verdict_text(result)
    write_report(result, tmp_path)
    assert (tmp_path / "report.html").exists() and "Verdicts" in text
    verdict = result.verdicts[0]
    for outcome, _, _ in verdict.vs_baseline.values():
        assert outcome in (NA, SAME)


def test_one_seed_is_na_and_identical_is_no_difference():
    one = analyze(sweep_data({"a=1": [0.9], "a=2": [0.8]}), settings()).verdicts[0]
    assert one.best == "a=1" and one.untestable == ["a=2"] and one.vs_baseline["a=2"][0] == NA
    same = analyze(sweep_data({"a=1": [0.9, 0.9], "a=2": [0.9, 0.9]}), settings()).verdicts[0]
    assert same.vs_baseline["a=2"][0] == SAME and same.not_worse == ["a=2"]


def test_unfinished_runs_are_left_out():
    data = sweep_data({"a=1": [0.9, 0.8], "a=2": [0.7, 0.6]})
    data.runs.loc[0, "status"] = "KILLED"
    result = analyze(data, settings())
    assert result.aggregates.set_index("design").loc["a=1", "n"] == 1
    assert "did not finish" in result.notes[0]


def test_no_runs_at_all(tmp_path):
    data = SweepData("empty", "p", pd.DataFrame(columns=RUN_COLUMNS), {}, {})
    result = analyze(data, settings())
    write_report(result, tmp_path)
    assert "no metric to analyse" in verdict_text(result)


def test_per_example_scores_give_power_with_one_seed():
    rng = np.random.default_rng(0)
    good = (rng.random(300) < 0.9).astype(float)
    bad = np.where(rng.random(300) < 0.3, 0.0, good)
    data = sweep_data(
        {"a=1": [bad.mean()], "a=2": [good.mean()]},
        per_example={("a=1", 0): scores_frame(bad), ("a=2", 0): scores_frame(good)},
    )
    result = analyze(data, settings())
    verdict = result.verdicts[0]
    assert "per-example" in verdict.test
    assert verdict.vs_baseline["a=2"][0] == BETTER
    assert len(result.per_seed) == 1 and result.per_seed.loc[0, "p_holm"] < 0.01


def test_task_type_wilcoxon_over_tasks():
    rng = np.random.default_rng(0)
    rows = []
    for design, shift in (("p=mean", 0.0), ("p=cls", -0.05)):
        for seed in range(2):
            metrics = {
                f"sts/d{k}/spearman": 0.7 + 0.02 * k + shift + rng.normal(0, 0.001)
                for k in range(6)
            }
            rows.append(
                {
                    "run_id": f"{design}{seed}",
                    "design": design,
                    "seed": float(seed),
                    "status": "FINISHED",
                    "val_loss": 0.1,
                    **metrics,
                }
            )
    data = SweepData("tasks", "p", pd.DataFrame(rows), {}, {})
    result = analyze(data, settings(target="val_loss", mode="min"))
    assert result.metrics[0] == "val_loss" and len(result.metrics) == 7
    kind = [v for v in result.verdicts if v.scope == "task type"]
    assert len(kind) == 1 and kind[0].best == "p=mean"
    assert result.tasks.loc[0, "wins_b"] == 6  # design_b = p=mean (sorted) wins all six tasks
    assert result.tasks.loc[0, "p_wilcoxon_tasks"] == pytest.approx(0.03125)


def test_metric_selection_and_direction():
    available = [
        "val_acc",
        "val_loss",
        "train_acc",
        "sts/stsb/spearman",
        "clustering/20ng/v_measure",
    ]
    s = AnalysisSettings(target="val_acc")
    assert select_metrics(available, s) == [
        "val_acc",
        "sts/stsb/spearman",
        "clustering/20ng/v_measure",
    ]
    s = AnalysisSettings(target="val_acc", task_types=["sts"])
    assert select_metrics(available, s) == ["val_acc", "sts/stsb/spearman"]
    assert select_metrics(available, AnalysisSettings(metrics=["val_*"])) == ["val_acc", "val_loss"]
    assert task_type("sts/stsb/spearman") == "sts" and task_type("val_acc") == "val_acc"
    assert not higher_is_better("val_loss", AnalysisSettings())
    assert not higher_is_better("val_acc", AnalysisSettings(target="val_acc", mode="min"))


def test_settings_from_dictconfig_and_validation():
    from omegaconf import OmegaConf

    cfg = OmegaConf.create({"alpha": 0.01, "aso": {"n_bootstrap": 7}, "metrics": ["sts/*"]})
    s = AnalysisSettings.from_config(cfg)
    assert s.alpha == 0.01 and s.aso.n_bootstrap == 7 and s.metrics == ["sts/*"]
    assert isinstance(s.aso, AsoSettings) and s.minimize == ["*loss*", "*error*"]  # the defaults
    assert AnalysisSettings.from_config({"test": "aso"}).aso.enabled


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"test": "magic"}, "analysis.test must be"),
        ({"other": 1}, "analysis.other: Key 'other' not in 'AnalysisSettings'"),
        ({"aso": {"n_bootstraps": 7}}, "analysis.aso.n_bootstraps"),
        ({"alpha": "small"}, "analysis.alpha"),
        ({"metrics": "sts/*"}, "analysis.metrics"),
        ({"n_permutations": 0}, "analysis.n_permutations"),
        ({"top_k": 0}, "analysis.top_k"),
    ],
)
def test_a_bad_setting_is_one_error_naming_its_key(config, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        AnalysisSettings.from_config(config)


def test_a_bad_setting_in_a_preset_is_refused_when_composed(tmp_path):
    with pytest.raises(SweepConfigError, match="analysis.alpha"):
        compose_config(["+experiment=smoke", "analysis.alpha=small"])
    conf = shutil.copytree(CONFIG_DIR, tmp_path / "conf")
    (conf / "experiment" / "typo.yaml").write_text("# @package _global_\nanalysis:\n  alpah: 0.01\n")
    with pytest.raises(SweepConfigError, match="Key 'alpah' not in 'AnalysisSettings'"):
        compose_config(["+experiment=typo"], conf)


def _eight_designs(gap: float) -> SweepData:
    """8 designs x 3 seeds with per-example scores; design a=7 is better by ``gap`` accuracy."""
    rng = np.random.default_rng(5)
    truth = rng.random(400)
    scores, examples = {}, {}
    for k in range(8):
        design = f"a={k}"
        scores[design] = []
        for seed in range(3):
            level = 0.6 + (gap if k == 7 else 0.0)
            correct = (rng.random(400) < level).astype(float) * (truth < 2)
            examples[(design, seed)] = scores_frame(correct)
            scores[design].append(correct.mean())
    return sweep_data(scores, per_example=examples)


def test_eight_designs_a_large_difference_is_significant():
    result = analyze(_eight_designs(gap=0.25), settings(n_permutations="auto", aso={"enabled": False}))
    [verdict] = result.verdicts
    assert "per-example" in verdict.test
    assert verdict.best == "a=7" and verdict.not_worse == []
    assert verdict.vs_baseline["a=7"][0] == BETTER
    row = result.resolution.query("test == 'per_example' and family == 'all pairs'").iloc[0]
    assert row["family_size"] == 28 and row["smallest_holm_p"] <= 0.005 and row["can_reject"]
    assert not any("per-example" in w for w in result.warnings)


def test_a_test_that_cannot_reject_is_replaced_and_said_first():
    rng = np.random.default_rng(6)
    data = sweep_data({f"a={k}": list(0.5 + 0.1 * k + rng.normal(0, 0.001, 3)) for k in range(3)})
    result = analyze(data, settings(test="wilcoxon"))
    [verdict] = result.verdicts
    assert "t-test" in verdict.test
    assert verdict.vs_baseline["a=2"][0] == BETTER
    text = verdict_text(result)
    first = text.splitlines()[0]
    assert first.startswith("WARNING:") and "Wilcoxon" in first and "cannot reject" in first


def test_vs_baseline_is_its_own_holm_family():
    result = analyze(_eight_designs(gap=0.0), settings(n_permutations=300, aso={"enabled": False}))
    pairs = result.pairs
    with_base = (pairs["design_a"] == "a=0") | (pairs["design_b"] == "a=0")
    assert pairs.loc[~with_base, "p_per_example_holm_baseline"].isna().all()
    family = pairs.loc[with_base, "p_per_example"]
    expected = multipletests(family.to_numpy(), method="holm")[1]
    assert np.allclose(pairs.loc[with_base, "p_per_example_holm_baseline"], expected)
