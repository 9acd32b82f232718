"""Shared fixtures: offline Hugging Face, the bundled backbones (SmolLM2 converted once into the
default output folder's backbone cache, as a sweep would), tiny real data sizes."""

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
    from modules.backbones.bundled import smollm2_135m

    return smollm2_135m(BACKBONE_CACHE)


@pytest.fixture(scope="session")
def minilm_path() -> str:
    from modules.backbones.bundled import minilm_l6

    return minilm_l6()


@pytest.fixture(scope="module", params=["smollm2", "minilm"])
def source(request, smollm2_path, minilm_path) -> str:
    """Each bundled backbone in turn: the decoder (SmolLM2) and the encoder (MiniLM)."""
    return smollm2_path if request.param == "smollm2" else minilm_path


@pytest.fixture(autouse=True)
def _few_threads():
    torch.set_num_threads(1)
    torch.manual_seed(0)


# Tiny real data for the task tests: a few STS-B triplets and test pairs, a few 20 Newsgroups
# documents, the 50 Lee documents of the held-out task.
TINY_DATA = [
    "data.train_limit=16",
    "data.dev_limit=4",
    "data.dev_pairs=8",
    "data.batch_size=4",
    "evaluation.sts_pairs=16",
    "evaluation.retrieval_queries=4",
    "evaluation.retrieval_corpus=24",
    "evaluation.classification_train=20",
    "evaluation.classification_test=20",
    "evaluation.clustering_docs=20",
    "evaluation.max_chars=100",
]
