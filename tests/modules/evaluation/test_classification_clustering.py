from __future__ import annotations

import numpy as np
import pytest

from modules.contract.per_example import statistic_value
from modules.data.newsgroups import TextDataset
from modules.evaluation.classification import ClassificationEvaluator
from modules.evaluation.clustering import ClusteringEvaluator

CENTRES = np.array([[10.0, 0.0], [0.0, 10.0], [-10.0, -10.0]])


def blobs(n_per_class: int, prefix: str, seed: int) -> tuple[TextDataset, dict]:
    rng = np.random.default_rng(seed)
    texts, labels, table = [], [], {}
    for label, centre in enumerate(CENTRES):
        for i in range(n_per_class):
            text = f"{prefix}{label}-{i}"
            texts.append(text)
            labels.append(label)
            table[text] = centre + rng.normal(scale=0.5, size=2)
    return TextDataset(texts, labels, ["a", "b", "c"]), table


def lookup(table):
    return lambda texts: np.array([table[t] for t in texts])


def test_separable_classes_give_accuracy_one() -> None:
    train, t1 = blobs(10, "train", 0)
    test, t2 = blobs(5, "test", 1)
    result = ClassificationEvaluator(train, test).evaluate(lookup({**t1, **t2}))
    assert result.metric == "classification/20ng/accuracy" and result.statistic == "mean"
    assert result.value == 1.0
    assert result.per_example["score"].tolist() == [1.0] * 15


def test_accuracy_counts_the_wrong_ones() -> None:
    train, t1 = blobs(10, "train", 0)
    test, t2 = blobs(5, "test", 1)
    t2["test0-0"] = CENTRES[1]  # labelled 0, embedded in class 1's region
    result = ClassificationEvaluator(train, test).evaluate(lookup({**t1, **t2}))
    assert result.value == pytest.approx(14 / 15)
    assert statistic_value("mean", result.per_example) == pytest.approx(result.value)


def test_separable_clusters_give_v_measure_one() -> None:
    data, table = blobs(8, "doc", 2)
    result = ClusteringEvaluator(data).evaluate(lookup(table))
    assert result.metric == "clustering/20ng/v_measure" and result.statistic == "v_measure"
    assert result.value == pytest.approx(1.0)
    assert statistic_value("v_measure", result.per_example) == pytest.approx(result.value)


def test_uninformative_embeddings_give_v_measure_zero() -> None:
    data, _ = blobs(4, "doc", 3)
    # two embedding points, each holding two docs of every class: clusters carry no label info
    table = {t: np.array([float(i % 2), 0.0]) for i, t in enumerate(data.texts)}
    evaluator = ClusteringEvaluator(data, seed=0)
    evaluator.n_clusters = 2
    result = evaluator.evaluate(lookup(table))
    assert result.value == pytest.approx(0.0, abs=1e-12)
