from __future__ import annotations

import numpy as np
import pytest
import torch

from modules.selection.influence import InfluenceModel, fit_influence, spearman_interval, zscore
from tests.modules.selection.tiny import one_thread

pytestmark = pytest.mark.usefixtures("one_thread")
__all__ = ["one_thread"]


def tiny_bert():
    """A randomly initialized 2-layer BERT on the bundled MiniLM tokenizer (fast, no download)."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    from modules.backbones.bundled import minilm_l6

    tokenizer = AutoTokenizer.from_pretrained(minilm_l6())
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=64)
    return BertModel(config), tokenizer


def synthetic(n: int = 160, seed: int = 0):
    """Texts whose target is the share of 'good' minus the share of 'bad' among their words."""
    rng = np.random.default_rng(seed)
    filler = ["river", "table", "green", "music", "seven", "paper", "cloud", "stone"]
    texts, target = [], []
    for _ in range(n):
        words = list(rng.choice(filler, size=12))
        good, bad = rng.integers(0, 6, size=2)
        words += ["good"] * good + ["bad"] * bad
        rng.shuffle(words)
        texts.append(" ".join(words))
        target.append((good - bad) / len(words))
    return texts, torch.tensor(target, dtype=torch.float32)


@pytest.mark.parametrize("trainable_layers", [0, -1])
def test_the_influence_model_learns_a_synthetic_signal(trainable_layers):
    encoder, tokenizer = tiny_bert()
    texts, target = synthetic()
    model = InfluenceModel(encoder, tokenizer, trainable_layers=trainable_layers, max_length=32,
                           head_hidden=32, batch_size=32)
    inputs = model.features(texts)
    epochs = 60 if trainable_layers == 0 else 12
    fit = fit_influence(model, inputs, target, val_fraction=0.25, epochs=epochs, lr=3e-3,
                        encoder_lr=3e-3, seed=0)
    assert fit.val_size == 40 and fit.train_size == 120
    assert fit.spearman > 0.6, fit.spearman


def test_only_the_top_layers_train():
    encoder, tokenizer = tiny_bert()
    model = InfluenceModel(encoder, tokenizer, trainable_layers=1)
    trainable = {n for n, p in model.encoder.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith("encoder.layer.1.") for n in trainable)
    frozen = InfluenceModel(*tiny_bert(), trainable_layers=0)
    assert not any(p.requires_grad for p in frozen.encoder.parameters())


def test_zscore():
    z = zscore(torch.tensor([1.0, 2.0, 3.0, 4.0]))
    assert abs(float(z.mean())) < 1e-6 and abs(float(z.std()) - 1) < 1e-6
    assert torch.equal(zscore(torch.ones(3)), torch.zeros(3))


def test_cross_fitting_holds_out_every_probe_and_gives_an_interval():
    encoder, tokenizer = tiny_bert()
    texts, target = synthetic(n=200)
    model = InfluenceModel(encoder, tokenizer, trainable_layers=0, max_length=32, head_hidden=32)
    fit = fit_influence(model, model.features(texts), target, folds=5, epochs=60, lr=3e-3, seed=0)
    assert fit.val_size == 200 and fit.train_size == 200
    assert fit.spearman > 0.6 and fit.low < fit.spearman < fit.high
    assert fit.high - fit.low < 0.2  # n = 200 at rho > 0.6


def test_spearman_interval():
    low, high = spearman_interval(0.0, 403)
    assert abs(high - 0.098) < 0.002 and abs(low + high) < 1e-9  # 1.96 / sqrt(400)
    low, high = spearman_interval(0.7, 19)  # the audit's 19 held-out probes
    assert low < 0.4 and high > 0.85
    assert all(v != v for v in spearman_interval(0.5, 3))  # nan below 4 pairs


def test_the_official_head_and_two_windows():
    encoder, tokenizer = tiny_bert()
    model = InfluenceModel(encoder, tokenizer, trainable_layers=-1, max_length=16, head_hidden=0, segments=2).eval()
    assert isinstance(model.head[0], torch.nn.Dropout) and model.head[1].out_features == 1
    long_text = " ".join(["river stone"] * 40)
    pooled = model.embed([long_text, "short"])
    assert pooled.shape == (2, 32)
    # the second window of the long text counts: its pooled state differs from one window alone
    single = InfluenceModel(encoder, tokenizer, trainable_layers=-1, max_length=16, head_hidden=0).eval()
    assert not torch.allclose(single.embed([long_text])[0], pooled[0])
