from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from modules.contract.per_example import read_per_example, statistic_value, write_per_example
from modules.evaluation.suite import EvaluationSuite

METRICS = [
    "sts/stsb/spearman",
    "retrieval/stsb/ndcg_at_10",
    "classification/20ng/accuracy",
    "clustering/20ng/v_measure",
    "heldout/lee/spearman",
]


def bag_of_words(texts: list[str]) -> np.ndarray:
    """A deterministic stand-in encoder: hashed word counts."""
    out = np.zeros((len(texts), 256))
    for i, text in enumerate(texts):
        for word in text.lower().split():
            out[i, sum(map(ord, word)) % 256] += 1.0
    return out


@pytest.fixture(scope="module")
def suite() -> EvaluationSuite:
    return EvaluationSuite(
        sts_pairs=40,
        retrieval_queries=20,
        classification_train=100,
        classification_test=40,
        clustering_docs=60,
        max_chars=300,
        heldout=True,
    )


def test_sizes_and_texts(suite: EvaluationSuite) -> None:
    assert len(suite.sts.pairs) == 40 and len(suite.retrieval.queries) == 20
    assert (len(suite.classification.train), len(suite.classification.test)) == (100, 40)
    assert len(suite.clustering.data) == 60
    texts = suite.texts()
    assert len(texts) == len(set(texts))
    for evaluator in suite.evaluators:
        assert set(evaluator.texts()) <= set(texts)
    assert max(len(t) for t in suite.clustering.data.texts) <= 300


def test_run_and_write(suite: EvaluationSuite, tmp_path: Path) -> None:
    calls = []

    def encode(texts):
        calls.append(len(texts))
        return bag_of_words(texts)

    results = suite.run(encode)
    assert calls == [len(suite.texts())]
    assert [r.metric for r in results] == METRICS
    assert "retrieval/stsb/mrr_at_10" in results[1].extra
    for result in results:
        assert np.isfinite(result.value)
        assert statistic_value(result.statistic, result.per_example) == pytest.approx(result.value)
    assert results[0].value > 0.2  # word overlap tracks STS-B similarity
    write_per_example(results, tmp_path)
    assert set(read_per_example(tmp_path)) == set(METRICS)


def test_reference_run_encodes_only_the_similarity_tasks(suite: EvaluationSuite) -> None:
    seen: list[str] = []

    def encode(texts):
        seen.extend(texts)
        return bag_of_words(texts)

    results = suite.run(encode, suite.reference_evaluators)
    assert [r.metric for r in results] == ["sts/stsb/spearman", "heldout/lee/spearman"]
    assert set(seen) == set(suite.sts.texts()) | set(suite.heldout.texts())
    assert results[1].value > 0.05  # hashed word counts track the Lee judgements a little


def test_config_builds_the_suite() -> None:
    cfg = OmegaConf.load(Path(__file__).parents[3] / "conf" / "evaluation" / "default.yaml")
    assert cfg._target_ == "modules.evaluation.suite.EvaluationSuite"
    small = instantiate(
        cfg,
        sts_pairs=10,
        retrieval_queries=5,
        classification_train=40,
        classification_test=20,
        clustering_docs=40,
    )
    assert len(small.sts.pairs) == 10
