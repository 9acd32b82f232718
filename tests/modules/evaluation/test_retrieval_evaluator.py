from __future__ import annotations

import numpy as np
import pytest

from modules.contract.per_example import statistic_value
from modules.data.stsb import STSPair
from modules.evaluation.retrieval import RetrievalEvaluator, _smaller_corpus, mrr_at_k, ndcg_at_k

ONE_HOT = {f"t{i}": np.eye(6)[i] for i in range(6)}


def lookup(table):
    return lambda texts: np.array([table[t] for t in texts], dtype=float)


def test_perfect_ranking_scores_one() -> None:
    pairs = [STSPair("qa", "da", 5.0), STSPair("qb", "db", 4.5), STSPair("qc", "dc", 1.0)]
    table = {"qa": [1, 0, 0], "da": [1, 0, 0], "qb": [0, 1, 0], "db": [0, 1, 0], "dc": [0, 0, 1]}
    evaluator = RetrievalEvaluator.from_pairs(pairs)
    assert evaluator.queries == ["qa", "qb"] and evaluator.corpus == ["da", "db", "dc"]
    result = evaluator.evaluate(lookup(table))
    assert result.metric == "retrieval/stsb/ndcg_at_10"
    assert result.value == pytest.approx(1.0)
    assert result.extra == {"retrieval/stsb/mrr_at_10": pytest.approx(1.0)}


def test_known_ranks() -> None:
    # query 0: relevant docs at ranks 1 and 3 -> nDCG = (1 + 1/2) / (1 + 1/log2 3), MRR = 1
    # query 1: its one relevant doc at rank 2 -> nDCG = 1/log2 3, MRR = 1/2
    corpus = ["a", "b", "c", "d"]
    table = {
        "a": [1.0, 0.0],
        "b": [0.8, 0.6],
        "c": [0.6, 0.8],
        "d": [0.0, 1.0],
        "q0": [1.0, 0.0],
        "q1": [0.0, 1.0],
    }
    evaluator = RetrievalEvaluator(["q0", "q1"], corpus, [{0, 2}, {2}])
    result = evaluator.evaluate(lookup(table))
    expected = [1.5 / (1 + 1 / np.log2(3)), 1 / np.log2(3)]
    assert result.per_example["score"].tolist() == pytest.approx(expected)
    assert result.value == pytest.approx(np.mean(expected))
    assert result.extra["retrieval/stsb/mrr_at_10"] == pytest.approx(0.75)
    assert statistic_value("mean", result.per_example) == pytest.approx(result.value)


def test_cutoff_at_k() -> None:
    assert ndcg_at_k(np.array([0, 0, 1]), 1, k=2) == 0.0
    assert mrr_at_k(np.array([0, 0, 1]), k=2) == 0.0
    assert ndcg_at_k(np.array([0, 1]), 1, k=10) == pytest.approx(1 / np.log2(3))


def test_query_text_in_corpus_is_not_retrieved_for_itself() -> None:
    pairs = [STSPair("a", "b", 5.0), STSPair("c", "a", 0.0)]
    table = {"a": [1.0, 0.0], "b": [0.9, 0.1], "c": [0.0, 1.0]}
    result = RetrievalEvaluator.from_pairs(pairs).evaluate(lookup(table))
    assert result.value == pytest.approx(1.0)


def test_a_capped_corpus_keeps_every_relevant_document_and_seeded_distractors() -> None:
    from modules.data.stsb import load_stsb

    pairs = load_stsb("test")
    full = RetrievalEvaluator.from_pairs(pairs, max_queries=12, seed=0)
    small = RetrievalEvaluator.from_pairs(pairs, max_queries=12, max_corpus=100, seed=0)
    assert small.queries == full.queries and len(full.corpus) > 1000 and len(small.corpus) == 100
    for query, rel_full, rel_small in zip(full.queries, full.relevant, small.relevant, strict=True):
        assert {full.corpus[i] for i in rel_full} == {small.corpus[i] for i in rel_small}, query
    order = {text: i for i, text in enumerate(full.corpus)}
    assert [order[t] for t in small.corpus] == sorted(order[t] for t in small.corpus)
    again = RetrievalEvaluator.from_pairs(pairs, max_queries=12, max_corpus=100, seed=0)
    assert again.corpus == small.corpus
    needed = {d for r in small.relevant for d in (small.corpus[i] for i in r)}
    draws = {tuple(_smaller_corpus(full.corpus, needed, 100, np.random.default_rng(s))) for s in range(3)}
    assert len(draws) == 3, "the distractors follow the seed"
    tiny = RetrievalEvaluator.from_pairs(pairs, max_queries=12, max_corpus=1, seed=0)
    assert len(tiny.corpus) == len({d for r in tiny.relevant for d in r})  # never fewer than the relevant
