"""How the continual methods that train a backbone put it in train mode and build their optimizer.

- :func:`train_mode`: the backbone trains with its BatchNorm layers in eval mode unless asked
  otherwise. A pretrained BatchNorm backbone (EfficientNet-Lite0: 49 BatchNorm layers, momentum
  0.01) fine-tuned in train mode normalizes each batch by the batch's own statistics while its
  running statistics, used at prediction time, barely move from ImageNet's: the trained model is
  then evaluated under statistics it was never trained with and can drop to chance. Freezing the
  statistics (the affine weights still train) keeps training and prediction consistent; backbones
  without BatchNorm (MiniLM, ViT) are unaffected.
- :func:`sgd`: SGD with momentum over parameter groups, one learning rate each (the backbone at a
  fine-tuning rate, a freshly initialized head at a much larger one); a group without trainable
  parameters (a frozen or identity backbone) is left out.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def train_mode(module: nn.Module, train_bn: bool = False) -> nn.Module:
    """``module.train()``, then every BatchNorm layer back to eval mode unless ``train_bn``."""
    module.train()
    if not train_bn:
        for layer in module.modules():
            if isinstance(layer, nn.modules.batchnorm._BatchNorm):
                layer.eval()
    return module


def sgd(
    groups: Sequence[tuple[nn.Module | None, float]],
    momentum: float = 0.9,
    weight_decay: float = 5e-4,
) -> torch.optim.SGD:
    """SGD over ``(module, lr)`` groups; modules that are None, have no trainable parameter or
    get a learning rate of 0 are left out."""
    param_groups = []
    for module, lr in groups:
        params = [] if module is None else [p for p in module.parameters() if p.requires_grad]
        if params and lr > 0:
            param_groups.append({"params": params, "lr": float(lr)})
    if not param_groups:
        raise ValueError("nothing to train: every parameter group is empty or at lr 0")
    return torch.optim.SGD(
        param_groups, lr=param_groups[-1]["lr"], momentum=momentum, weight_decay=weight_decay
    )
