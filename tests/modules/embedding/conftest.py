"""Shared fixtures: offline Hugging Face, the bundled backbones (SmolLM2 converted once into the
default output folder's backbone cache, as a sweep would), small fake token features."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

ROOT = Path(__file__).resolve().parents[3]
BACKBONE_CACHE = Path(
    os.environ.get("EMBEDDING_TEST_CACHE", ROOT / "outputs" / "cache" / "backbones")
)


@pytest.fixture(scope="session")
def smollm2_path() -> str:
    from modules.embedding.bundled import smollm2_135m

    return smollm2_135m(BACKBONE_CACHE)


@pytest.fixture(scope="session")
def minilm_path() -> str:
    from modules.embedding.bundled import minilm_l6

    return minilm_l6()


@pytest.fixture(autouse=True)
def _few_threads():
    torch.set_num_threads(1)
    torch.manual_seed(0)


# --- Stand-ins for modules/data/stsb.py and modules/evaluation/ (built in parallel elsewhere). ---
# They follow the agreed interface; the tests of the task use them even once the real ones exist,
# so the task is tested fast and independently of data sizes.

SENTENCES = [
    "A man is playing a guitar.",
    "A man plays the guitar.",
    "A woman is slicing an onion.",
    "Someone cuts an onion.",
    "Two dogs run through the snow.",
    "Dogs are running in snow.",
    "The stock market fell sharply.",
    "Shares dropped a lot today.",
    "A child reads a book.",
    "A kid is reading.",
    "The plane is landing.",
    "An airplane touches down.",
]


def _fake_modules(tmp_root: Path):
    import json
    import types
    from dataclasses import dataclass, field

    import numpy as np
    import pandas as pd

    @dataclass
    class STSPair:
        sentence1: str
        sentence2: str
        score: float

    @dataclass
    class Triplet:
        query: str
        positive: str
        negative: str

    def load_stsb(split: str) -> list[STSPair]:
        pairs = [STSPair(SENTENCES[i], SENTENCES[i + 1], 4.5) for i in range(0, 12, 2)]
        pairs += [STSPair(SENTENCES[i], SENTENCES[(i + 5) % 12], 0.5) for i in range(0, 12, 2)]
        return pairs

    def training_triplets(
        pairs, positive_threshold=4.0, negative_threshold=2.0, seed=0, limit=None
    ):
        low = [p for p in pairs if p.score <= negative_threshold]
        out = [
            Triplet(p.sentence1, p.sentence2, low[i % len(low)].sentence2)
            for i, p in enumerate(pairs)
            if p.score >= positive_threshold
        ]
        return out if limit is None else out[:limit]

    @dataclass
    class EvalResult:
        metric: str
        value: float
        extra: dict = field(default_factory=dict)
        per_example: pd.DataFrame = field(default_factory=pd.DataFrame)

    class EvaluationSuite:
        def __init__(self, **sizes):
            self.sizes = sizes

        def texts(self) -> list[str]:
            return list(SENTENCES)

        def run(self, encode):
            emb = np.asarray(encode(self.texts()))
            assert emb.shape[0] == len(SENTENCES)
            cos = (emb[0::2] * emb[1::2]).sum(axis=1)
            frame = pd.DataFrame({"example_id": range(len(cos)), "score": cos})
            return [
                EvalResult("sts/stsb/spearman", float(cos.mean()), {}, frame),
                EvalResult("retrieval/stsb/ndcg_at_10", 0.5, {"retrieval/stsb/mrr_at_10": 0.4}),
            ]

    def write_per_example(results, folder: Path) -> None:
        out = Path(folder) / "per_example"
        out.mkdir(parents=True, exist_ok=True)
        (out / "index.json").write_text(json.dumps([r.metric for r in results]))

    stsb = types.ModuleType("modules.data.stsb")
    stsb.STSPair, stsb.Triplet = STSPair, Triplet
    stsb.load_stsb, stsb.training_triplets = load_stsb, training_triplets
    evaluation = types.ModuleType("modules.evaluation")
    evaluation.__path__ = []
    suite = types.ModuleType("modules.evaluation.suite")
    suite.EvaluationSuite, suite.EvalResult = EvaluationSuite, EvalResult
    per_example = types.ModuleType("modules.evaluation.per_example")
    per_example.write_per_example = write_per_example
    return {
        "modules.data.stsb": stsb,
        "modules.evaluation": evaluation,
        "modules.evaluation.suite": suite,
        "modules.evaluation.per_example": per_example,
    }


@pytest.fixture
def stand_ins(monkeypatch, tmp_path):
    """Install the stand-in data/evaluation modules and a config dir that has
    ``conf/evaluation/default.yaml`` (copied from the real one when present)."""
    import shutil
    import sys

    for name, module in _fake_modules(tmp_path).items():
        monkeypatch.setitem(sys.modules, name, module)
    conf = tmp_path / "conf"
    shutil.copytree(ROOT / "conf", conf)
    default = conf / "evaluation" / "default.yaml"
    if not default.exists():
        default.parent.mkdir(parents=True, exist_ok=True)
        default.write_text(
            "_target_: modules.evaluation.suite.EvaluationSuite\nsts_pairs: 500\n"
            "retrieval_queries: 200\nclassification_train: 1000\n"
            "classification_test: 500\nclustering_docs: 500\nmax_chars: 1000\n"
            "seed: 0\n"
        )
    return conf
