from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from modules.contract.per_example import read_per_example, statistic_value, write_per_example
from modules.evaluation.result import EvalResult


def results() -> list[EvalResult]:
    sts = pd.DataFrame(
        {
            "example_id": [0, 1, 2, 3],
            "prediction": [0.1, 0.4, 0.3, 0.9],
            "target": [1.0, 2.0, 3.0, 4.0],
        }
    )
    ret = pd.DataFrame({"example_id": [0, 1], "score": [1.0, 0.5]})
    clu = pd.DataFrame(
        {"example_id": [0, 1, 2, 3], "prediction": [1, 1, 0, 0], "target": [0, 0, 1, 1]}
    )
    return [
        EvalResult("sts/stsb/spearman", 0.8, {}, sts, "spearman"),
        EvalResult(
            "retrieval/stsb/ndcg_at_10", 0.75, {"retrieval/stsb/mrr_at_10": 0.7}, ret, "mean"
        ),
        EvalResult("clustering/20ng/v_measure", 1.0, {}, clu, "v_measure"),
    ]


def test_round_trip(tmp_path) -> None:
    write_per_example(results(), tmp_path)
    index = json.loads((tmp_path / "per_example" / "index.json").read_text())
    assert index["sts/stsb/spearman"] == {
        "file": "sts__stsb__spearman.csv",
        "statistic": "spearman",
    }
    back = read_per_example(tmp_path)
    assert set(back) == {r.metric for r in results()}
    for result in results():
        frame, statistic = back[result.metric].frame, back[result.metric].statistic
        assert statistic == result.statistic
        pd.testing.assert_frame_equal(frame, result.per_example, check_dtype=False)
        assert statistic_value(statistic, frame) == pytest.approx(result.value)


def test_statistic_on_a_resample() -> None:
    frame = results()[0].per_example
    resampled = frame.iloc[[0, 0, 2, 3]]
    expected = spearmanr([0.1, 0.1, 0.3, 0.9], [1.0, 1.0, 3.0, 4.0]).statistic
    assert statistic_value("spearman", resampled) == pytest.approx(expected)
    assert statistic_value("mean", pd.DataFrame({"score": [1, 0, 0, 1]})) == 0.5
    with pytest.raises(ValueError, match="unknown statistic"):
        statistic_value("median", frame)
    assert np.isfinite(statistic_value("v_measure", results()[2].per_example))
