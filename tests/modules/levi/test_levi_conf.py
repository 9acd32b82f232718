"""Every option of conf/levi/ builds a LeviMethod that passes its checks, and the presets compose:
the ablations differ from LEVI only where they should."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra.utils import instantiate

from modules.levi.method import LeviMethod
from sweeps.config import compose_config

CONF = Path(__file__).resolve().parents[3] / "conf"
OPTIONS = sorted(p.stem for p in (CONF / "levi").glob("*.yaml"))


def _method(*overrides: str, preset: str = "levi_shift") -> LeviMethod:
    cfg = compose_config([f"+experiment={preset}", *overrides])
    return instantiate(cfg.levi, _recursive_=False)


@pytest.mark.parametrize("option", OPTIONS)
def test_every_option_is_a_checked_method(option):
    method = _method(f"levi={option}")
    assert isinstance(method, LeviMethod)
    assert method.check(6) == list(method.layers) and (method.layers or method.small)


def test_ablations_change_only_what_they_ablate():
    levi, no_small = _method("levi=levi"), _method("levi=levi_no_small")
    assert levi.small is not None and no_small.small is None
    assert {**vars(no_small), "small": levi.small} == vars(levi)
    lora = _method("levi=levi_lora")
    assert lora.regime == "lora" and lora.lora is not None and lora.small == levi.small
    assert lora.layers == levi.layers and lora.backbone_lr == _method("levi=lora_ft").backbone_lr
    assert _method("levi=small_alone").layers == [] and "_common" not in OPTIONS
    layered = _method("levi=levi_no_small", "levi.layers=[0,6]", preset="levi_layers")
    assert layered.layers == [0, 6] and layered.small is None
