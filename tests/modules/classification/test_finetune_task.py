"""The fine-tuning task on tiny synthetic texts with the hashed-bag encoder: shared init, saved
weights, and evaluate_weights reproducing the trial's own scores."""

from __future__ import annotations

import json

import pytest
import torch
from lightning import seed_everything
from omegaconf import OmegaConf

from modules.classification.encoders import HashedBagEncoder
from modules.classification.finetune_task import FineTuneTask
from modules.classification.text_classifier import TextClassifier
from modules.classification.text_data import TextSplits, split_per_class
from modules.contract.run import RunContext
from modules.contract.weights import load_weights
from modules.data.newsgroups import TextDataset

WORDS = [["apple", "pear", "plum"], ["car", "bus", "train"], ["red", "blue", "green"]]


def tiny_splits(batch_size: int = 8) -> TextSplits:
    def make(n: int, offset: int) -> TextDataset:
        texts, labels = [], []
        for label, words in enumerate(WORDS):
            for i in range(n):
                texts.append(" ".join(words[(i + offset + k) % 3] for k in range(4)))
                labels.append(label)
        return TextDataset(texts, labels, ["fruit", "vehicle", "color"])

    return TextSplits(make(6, 0), make(3, 1), make(3, 2), batch_size)


def config(lr: float = 0.05, init_seed: int = 0):
    return OmegaConf.create({
        "task": {"_target_": "modules.classification.finetune_task.FineTuneTask"},
        "data": {"_target_": "tests.modules.classification.test_finetune_task.tiny_splits"},
        "model": {"_target_": "modules.classification.text_classifier.TextClassifier",
                  "init_seed": init_seed, "dropout": 0.0,
                  "encoder": {"_target_": "modules.classification.encoders.HashedBagEncoder",
                              "_partial_": True, "dim": 8, "buckets": 32}},
        "optim": {"_target_": "torch.optim.AdamW", "_partial_": True, "lr": lr},
        "trainer": {"_target_": "lightning.Trainer", "accelerator": "cpu", "max_epochs": 3,
                    "logger": False, "enable_checkpointing": False, "enable_progress_bar": False,
                    "enable_model_summary": False},
    })


def run(tmp_path, name: str, seed: int, **kwargs) -> dict[str, float]:
    seed_everything(seed, verbose=False)
    return FineTuneTask().run(config(**kwargs), RunContext(artifact_dir=tmp_path / name))


def test_trials_share_the_init_save_weights_and_rescore_them_exactly(tmp_path):
    first = run(tmp_path, "a", seed=0, lr=0.05)
    second = run(tmp_path, "b", seed=1, lr=0.2)
    assert set(first) == {"heldout/acc", "heldout/loss", "test/acc", "test/loss"}
    weights_a, info_a = load_weights(tmp_path / "a")
    weights_b, info_b = load_weights(tmp_path / "b")
    assert info_a["init_fingerprint"] == info_b["init_fingerprint"]  # trial seed ≠ init seed
    assert set(weights_a) == {"encoder.table.weight", "head.weight", "head.bias"}
    assert not torch.equal(weights_a["head.weight"], weights_b["head.weight"])
    assert (tmp_path / "a" / "per_example" / "index.json").exists()
    assert "test/acc" in json.loads((tmp_path / "a" / "per_example" / "index.json").read_text())

    task = FineTuneTask()
    assert task.evaluate_weights(config(), weights_a) == pytest.approx(first)
    assert task.evaluate_weights(config(), weights_b, splits=("heldout",)) == pytest.approx(
        {k: v for k, v in second.items() if k.startswith("heldout/")})


def test_a_different_init_seed_changes_the_fingerprint(tmp_path):
    run(tmp_path, "a", seed=0)
    run(tmp_path, "b", seed=0, init_seed=1)
    assert load_weights(tmp_path / "a")[1]["init_fingerprint"] != load_weights(tmp_path / "b")[1]["init_fingerprint"]


def test_load_trainable_refuses_weights_of_another_model():
    model = TextClassifier(lambda: HashedBagEncoder(dim=4, buckets=8), num_classes=2)
    with pytest.raises(ValueError, match="missing"):
        model.load_trainable({"head.weight": torch.zeros(2, 4)})


def test_split_per_class_is_disjoint_and_balanced():
    data = TextDataset([f"doc {i}" for i in range(30)], [i % 3 for i in range(30)], ["a", "b", "c"])
    first, second = split_per_class(data, 4, 2, seed=0)
    assert sorted(first.labels) == [0] * 4 + [1] * 4 + [2] * 4
    assert len(second) == 6 and not set(first.texts) & set(second.texts)
    with pytest.raises(ValueError, match="has 10 documents"):
        split_per_class(data, 8, 3, seed=0)


def test_minilm_caches_its_frozen_layers_without_changing_the_output():
    from modules.classification.encoders import MiniLMEncoder

    texts = ["the rocket reached orbit", "a car with a v8 engine", "guns and the senate", "orbit"]
    cached = MiniLMEncoder(max_length=16, train_layers=1, cache_frozen=False).eval()
    with torch.no_grad():
        expected = cached(texts)  # the plain path: the whole model
        assert not cached._frozen
        cached.cache_frozen = True
        assert torch.allclose(cached(texts), expected, atol=1e-5)
        assert torch.allclose(cached(texts[::-1]).flip(0), expected, atol=1e-5)  # other padding
    assert set(cached._frozen) == set(texts)
    trained = {n.split(".")[2] for n, p in cached.model.named_parameters() if p.requires_grad}
    assert trained == {"5"}
    cached.train()
    cached(texts[:2]).sum().backward()
    assert cached.model.encoder.layer[5].output.dense.weight.grad is not None
