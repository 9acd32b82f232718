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
BACKBONE_CACHE = Path(os.environ.get("EMBEDDING_TEST_CACHE", ROOT / "outputs" / "cache" / "backbones"))


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
