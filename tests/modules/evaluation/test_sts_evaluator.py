from __future__ import annotations

import numpy as np
import pytest

from modules.contract.per_example import statistic_value
from modules.data.stsb import STSPair
from modules.evaluation.sts import STSEvaluator


def lookup(table: dict[str, list[float]]):
    return lambda texts: np.array([table[t] for t in texts], dtype=float)


def angle(theta: float) -> list[float]:
    return [np.cos(theta), np.sin(theta)]


def test_cosine_ordered_like_gold_gives_one_and_reversed_gives_minus_one() -> None:
    pairs = [STSPair("q", f"d{i}", float(i)) for i in range(5)]
    closer = {"q": [1.0, 0.0], **{f"d{i}": angle((4 - i) * 0.3) for i in range(5)}}
    result = STSEvaluator(pairs).evaluate(lookup(closer))
    assert result.metric == "sts/stsb/spearman" and result.statistic == "spearman"
    assert result.value == pytest.approx(1.0)
    farther = {"q": [1.0, 0.0], **{f"d{i}": angle(i * 0.3) for i in range(5)}}
    assert STSEvaluator(pairs).evaluate(lookup(farther)).value == pytest.approx(-1.0)


def test_known_partial_rank_agreement() -> None:
    # cosines rank the pairs (1, 3, 2) against gold (1, 2, 3): rho = 1 - 6*2/(3*8) = 0.5
    pairs = [STSPair("q", f"d{i}", float(i)) for i in range(3)]
    table = {"q": [1.0, 0.0], "d0": angle(1.2), "d1": angle(0.2), "d2": angle(0.6)}
    result = STSEvaluator(pairs).evaluate(lookup(table))
    assert result.value == pytest.approx(0.5)
    assert list(result.per_example.columns) == ["example_id", "prediction", "target"]
    assert result.per_example["prediction"].tolist() == pytest.approx(
        [np.cos(1.2), np.cos(0.2), np.cos(0.6)]
    )
    assert statistic_value("spearman", result.per_example) == pytest.approx(result.value)
