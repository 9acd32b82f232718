"""scikit-learn's bundled 8x8 digits as a Lightning data module."""

from __future__ import annotations

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset


class DigitsDataModule(L.LightningDataModule):
    """The 1,797 8x8 handwritten digits bundled with scikit-learn (UCI ML digits), split
    train/val/test by a fixed ``split_seed`` so every trial of a sweep sees the same data."""

    input_dim = 64
    num_classes = 10

    def __init__(
        self, batch_size: int = 64, val_fraction: float = 0.2, test_fraction: float = 0.2, split_seed: int = 0
    ) -> None:
        super().__init__()
        self.batch_size = batch_size
        self.val_fraction = val_fraction
        self.test_fraction = test_fraction
        self.split_seed = split_seed

    def setup(self, stage: str | None = None) -> None:
        from sklearn.datasets import load_digits

        x, y = load_digits(return_X_y=True)
        x = torch.tensor(x / 16.0, dtype=torch.float32)
        y = torch.tensor(y, dtype=torch.long)
        order = np.random.default_rng(self.split_seed).permutation(len(y))
        n_val, n_test = int(len(y) * self.val_fraction), int(len(y) * self.test_fraction)
        val, test, train = np.split(order, [n_val, n_val + n_test])
        self.train_set = TensorDataset(x[train], y[train])
        self.val_set = TensorDataset(x[val], y[val])
        self.test_set = TensorDataset(x[test], y[test])

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.train_set, batch_size=self.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val_set, batch_size=512)

    def test_dataloader(self) -> DataLoader:
        return DataLoader(self.test_set, batch_size=512)
