from __future__ import annotations

import torch

from modules.classification.mlp import MLPClassifier


def test_forward_shape_and_optimizer_partial():
    model = MLPClassifier(input_dim=64, num_classes=10, hidden=16,
                          optimizer=lambda params: torch.optim.SGD(params, lr=0.1))
    assert model(torch.randn(5, 64)).shape == (5, 10)
    assert isinstance(model.configure_optimizers(), torch.optim.SGD)
