"""A tiny randomly initialised BERT (3 layers, hidden 16) with MiniLM's tokenizer, saved once per
session: the LEVI tests' stand-in for MiniLM (fast, same architecture)."""

from __future__ import annotations

import os

import pytest
import torch

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> str:
    from transformers import AutoTokenizer, BertConfig, BertModel

    from modules.backbones.bundled import minilm_l6

    folder = tmp_path_factory.mktemp("tiny_bert")
    tokenizer = AutoTokenizer.from_pretrained(minilm_l6())
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=16,
        num_hidden_layers=3,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


@pytest.fixture(autouse=True)
def _few_threads():
    torch.set_num_threads(1)
    torch.manual_seed(0)
