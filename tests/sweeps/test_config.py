"""resolve(): a missing mandatory value anywhere in the tree is one config error naming it."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from sweeps.config import resolve
from sweeps.errors import SweepConfigError


def test_missing_values_are_named_wherever_they_are():
    cfg = OmegaConf.create({"a": 1, "model": {"hidden": "???", "inner": {"lr": "???"}}, "b": "${a}"})
    with pytest.raises(SweepConfigError, match=r"missing mandatory value: model\.hidden, model\.inner\.lr"):
        resolve(cfg)


def test_a_complete_config_resolves():
    assert resolve(OmegaConf.create({"a": 1, "b": "${a}"})).b == 1


def test_config_targets_names_every_target_with_its_path():
    from omegaconf import OmegaConf

    from sweeps.config import config_targets

    cfg = OmegaConf.create({"model": {"_target_": "a.B", "inner": [{"_target_": "c.D"}]}})
    assert config_targets(cfg) == [("model", "a.B"), ("model.inner[0]", "c.D")]
