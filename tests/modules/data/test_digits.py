from __future__ import annotations

from modules.data.digits import DigitsDataModule


def test_splits_are_disjoint_and_fixed_by_split_seed():
    a, b = DigitsDataModule(split_seed=0), DigitsDataModule(split_seed=0)
    a.setup(), b.setup()
    assert len(a.train_set) + len(a.val_set) + len(a.test_set) == 1797
    assert (a.val_set.tensors[0] == b.val_set.tensors[0]).all()
    x, y = next(iter(a.val_dataloader()))
    assert x.shape[1] == 64 and float(x.min()) >= 0.0 and float(x.max()) <= 1.0
