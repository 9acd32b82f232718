"""Per-example scores: the recomputed statistics, and the paired permutation test."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import v_measure_score

from modules.contract.per_example import PerExample, read_entry
from sweeps.analysis.per_example import align, recompute
from sweeps.analysis.permutation import permutation_test


def test_recompute_matches_scipy_and_sklearn():
    rng = np.random.default_rng(0)
    target = rng.normal(size=50)
    prediction = target + rng.normal(size=50)
    frame = pd.DataFrame({"example_id": range(50), "prediction": prediction, "target": target})
    assert recompute(PerExample("spearman", frame)) == pytest.approx(
        stats.spearmanr(prediction, target).statistic
    )
    labels = pd.DataFrame(
        {"example_id": range(6), "prediction": [0, 0, 1, 1, 2, 2], "target": [1, 1, 0, 0, 0, 2]}
    )
    assert recompute(PerExample("v_measure", labels)) == pytest.approx(
        v_measure_score(labels["target"], labels["prediction"])
    )
    scores = pd.DataFrame({"example_id": range(4), "score": [1, 0, 1, 1]})
    assert recompute(PerExample("mean", scores)) == 0.75


def test_read_entry_checks_file_statistic_and_columns(tmp_path):
    folder = tmp_path / "per_example"
    folder.mkdir()
    pd.DataFrame({"example_id": [1, 2], "score": [0.5, 1.0]}).to_csv(folder / "a.csv", index=False)
    (folder / "index.json").write_text(json.dumps({}))
    scores = read_entry(folder, {"file": "a.csv", "statistic": "mean"})
    assert scores is not None and recompute(scores) == 0.75
    assert read_entry(folder, {"file": "missing.csv", "statistic": "mean"}) is None
    assert read_entry(folder, {"file": "a.csv", "statistic": "unknown"}) is None
    assert read_entry(folder, {"file": "a.csv", "statistic": "spearman"}) is None  # no prediction


def test_one_seed_real_difference_is_significant():
    rng = np.random.default_rng(0)
    a = (rng.random(400) < 0.80).astype(float)
    b = np.where(rng.random(400) < 0.5, 0.0, a)  # B loses about half of A's correct answers
    pairs = [
        align(
            PerExample("mean", pd.DataFrame({"example_id": range(400), "score": a})),
            PerExample("mean", pd.DataFrame({"example_id": range(400), "score": b})),
        )
    ]
    result = permutation_test(pairs, "mean", 1000, 0)
    diff, p = result.diff, result.p
    assert diff == pytest.approx(a.mean() - b.mean())
    assert p < 0.01


def test_no_difference_is_not_significant_spearman():
    rng = np.random.default_rng(2)
    target = rng.normal(size=200)
    a = target + rng.normal(size=200)
    b = target + rng.normal(size=200)

    def frame(p):
        return PerExample(
            "spearman",
            pd.DataFrame(
                {
                    "example_id": range(200),
                    "prediction": p,
                    "target": target,
                }
            ),
        )

    result = permutation_test([align(frame(a), frame(b))], "spearman", 300, 0)
    diff, p = result.diff, result.p
    assert diff == pytest.approx(
        stats.spearmanr(a, target).statistic - stats.spearmanr(b, target).statistic
    )
    assert p > 0.05


def test_stratified_over_seeds_and_alignment():
    rng = np.random.default_rng(3)
    pairs = []
    for _ in range(3):
        a = rng.normal(0.6, 0.2, 100)
        pairs.append(
            align(
                PerExample("mean", pd.DataFrame({"example_id": range(100), "score": a})),
                PerExample(
                    "mean",
                    pd.DataFrame({"example_id": range(100)[::-1], "score": (a - 0.05)[::-1]}),
                ),
            )
        )
    assert np.allclose(pairs[0].a - pairs[0].b, 0.05)  # aligned on example_id, not on row order
    result = permutation_test(pairs, "mean", 1000, 0)
    diff, p = result.diff, result.p
    assert diff == pytest.approx(0.05)
    assert p < 0.01
    assert (
        align(
            PerExample("mean", pd.DataFrame({"example_id": [1], "score": [1.0]})),
            PerExample("mean", pd.DataFrame({"example_id": [2], "score": [1.0]})),
        )
        is None
    )


def test_batched_v_measure_equals_scikit_learn():
    import numpy as np
    from sklearn.metrics import v_measure_score

    from sweeps.analysis.per_example import v_measure_batched

    rng = np.random.default_rng(1)
    target = rng.integers(0, 7, 60)
    rows = rng.integers(0, 5, (20, 60))
    expected = [v_measure_score(target, row) for row in rows]
    assert np.allclose(v_measure_batched(rows, target), expected, atol=1e-12)
    assert v_measure_batched(target, target) == pytest.approx(1.0)


@pytest.mark.parametrize("reorder", [False, True])
def test_alignment_equals_the_join_on_example_id(reorder):
    """Same ids in the same order skip the join; any other order joins. Both give the join's rows."""
    rng = np.random.default_rng(4)
    ids = rng.permutation(50)
    a = pd.DataFrame({"example_id": ids, "prediction": rng.normal(size=50), "target": rng.normal(size=50)})
    b = a.assign(prediction=rng.normal(size=50))
    if reorder:
        b = b.iloc[::-1]
    pair = align(PerExample("spearman", a), PerExample("spearman", b))
    merged = a.merge(b, on="example_id", suffixes=("_a", "_b"))
    assert np.array_equal(pair.a, merged["prediction_a"]) and np.array_equal(pair.b, merged["prediction_b"])
    assert np.array_equal(pair.target, merged["target_a"])
