"""Sanity contracts: each kind of check passes, fails and skips; the report prints violations first."""

from __future__ import annotations

import pandas as pd
import pytest
from analysis_helpers import sweep_data

from sweeps.analysis import AnalysisSettings, analyze, verdict_text
from sweeps.analysis.report import sanity_tags
from sweeps.analysis.sanity import OK, SKIPPED, VIOLATED, check_contract, validate_contract


def _runs(rows: dict[str, dict[str, float]], seeds: int = 2) -> pd.DataFrame:
    """{design: {metric: value}} → one FINISHED run per design and seed."""
    return pd.DataFrame(
        [
            {"run_id": f"{d}{s}", "design": d, "seed": s, "status": "FINISHED", **metrics}
            for d, metrics in rows.items()
            for s in range(seeds)
        ]
    )


CL = _runs(
    {
        "method=joint": {"cl/mnist/acc": 0.90, "cl/mnist/current_acc": 0.95, "loss": 0.1},
        "method=slca": {"cl/mnist/acc": 0.70, "cl/mnist/current_acc": 0.90, "loss": 0.3},
        "method=finetune": {"cl/mnist/acc": 0.20, "cl/mnist/current_acc": 0.49, "loss": 0.9},
    }
)


def _status(entry: dict, runs: pd.DataFrame = CL, **kw) -> str:
    [result] = check_contract([entry], runs, AnalysisSettings(**kw))
    return result.status


def test_upper_bound():
    entry = {"kind": "upper_bound", "metric": "cl/*/acc", "design": "method=joint"}
    assert _status(entry) == OK
    broken = CL.copy()
    broken.loc[broken["design"] == "method=joint", "cl/mnist/acc"] = 0.197
    assert _status(entry, broken) == VIOLATED
    assert _status({**entry, "tolerance": 0.6}, broken) == OK
    assert _status({**entry, "design": "method=nope"}) == SKIPPED
    # direction: for a loss the bound is the lowest value
    assert _status({"kind": "upper_bound", "metric": "loss", "design": "method=joint"}) == OK


def test_above_a_number_and_a_metric_and_below():
    chance = {"kind": "above", "metric": "cl/*/current_acc", "than": 0.5}
    assert _status(chance) == VIOLATED  # finetune at 0.49
    assert _status({**chance, "designs": ["method=joint", "method=slca"]}) == OK
    untrained = _runs({"d=1": {"sts/x/rho": 0.6, "sts/x/rho_untrained": 0.5}})
    assert _status({"kind": "above", "metric": "sts/x/rho", "than": "{metric}_untrained"}, untrained) == OK
    assert _status({"kind": "below", "metric": "sts/x/rho", "than": "{metric}_untrained"}, untrained) == VIOLATED
    assert _status({"kind": "above", "metric": "sts/x/rho", "than": "missing"}, untrained) == SKIPPED


def test_holds_and_ordered():
    runs = _runs({"m=probe": {"ood": 0.7, "disjoint": 1.0}, "m=ft": {"ood": 0.6, "disjoint": 1.0}})
    assert _status({"kind": "holds", "metric": "disjoint"}, runs) == OK
    runs.loc[0, "disjoint"] = 0.0
    assert _status({"kind": "holds", "metric": "disjoint"}, runs) == VIOLATED
    ordered = {"kind": "ordered", "metric": "ood", "better": "m=probe", "worse": "m=ft"}
    assert _status(ordered, runs) == OK
    assert _status({**ordered, "better": "m=ft", "worse": "m=probe"}, runs) == VIOLATED
    assert _status({"kind": "holds", "metric": "absent"}, runs) == SKIPPED


@pytest.mark.parametrize(
    "entries",
    [
        {"kind": "above"},  # not a list
        [{"kind": "magic", "metric": "x"}],
        [{"kind": "above", "metric": "x"}],  # no `than`
        [{"kind": "holds", "metric": "x", "typo": 1}],
    ],
)
def test_malformed_contracts_are_refused(entries):
    with pytest.raises(ValueError, match="analysis.sanity"):
        validate_contract(entries)
    with pytest.raises(ValueError, match="analysis.sanity"):
        AnalysisSettings.from_config({"sanity": entries})


def test_the_report_prints_a_violation_first_and_tags_it():
    data = sweep_data({"method=joint": [0.2, 0.21], "method=slca": [0.5, 0.52]}, metric="acc")
    contract = [
        {
            "kind": "upper_bound",
            "metric": "acc",
            "design": "method=joint",
            "why": "joint training bounds continual methods",
        }
    ]
    result = analyze(data, AnalysisSettings.from_config({"target": "acc", "sanity": contract}))
    first = verdict_text(result).splitlines()[0]
    assert first.startswith("WARNING: sanity contract violated: [violated] upper_bound acc")
    assert "joint training bounds" in first
    tags = sanity_tags(result)
    assert tags["sanity"] == "violated" and "upper_bound acc" in tags["sanity.violations"]
    clean = analyze(data, AnalysisSettings.from_config({"target": "acc"}))
    assert sanity_tags(clean) == {"sanity": "none"}
    assert "sanity contract: none declared" in verdict_text(clean)
