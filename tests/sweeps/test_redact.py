"""Secrets masked in what a sweep logs: config keys, overrides, the command line, the space."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from sweeps.errors import SweepConfigError
from sweeps.redact import (
    MASK,
    check_space,
    is_secret,
    redact_command,
    redact_config,
    redact_override,
    redaction_words,
)


@pytest.mark.parametrize("key", ["db.password", "+aws_secret_access_key", "api.apiToken", "x.private-key",
                                 "DB_PASSWD", "s3.credentials"])
def test_secret_keys_are_recognised_by_word(key):
    assert is_secret(key)


@pytest.mark.parametrize("key", ["model.tokenizer_dir", "monkey", "optim.lr", "data.keyword", "max_tokens"])
def test_ordinary_keys_are_left_alone(key):
    assert not is_secret(key)


def test_config_values_under_secret_keys_are_masked_at_any_depth():
    cfg = OmegaConf.create({"db": {"password": "hunter2", "host": "h", "auth": {"token": "t0k"}},
                            "optim": {"lr": 0.1}, "secret": {"nested": "s"}})
    out = OmegaConf.to_container(redact_config(cfg))
    assert out == {"db": {"password": MASK, "host": "h", "auth": {"token": MASK}},
                   "optim": {"lr": 0.1}, "secret": MASK}
    assert cfg.db.password == "hunter2", "the config the run uses is not changed"


def test_overrides_and_the_command_line_are_masked():
    assert redact_override("+db.password=hunter2") == f"+db.password={MASK}"
    assert redact_override("+db={user: me, password: hunter2}") == f"+db={MASK}"
    assert redact_override("optim.lr=0.1") == "optim.lr=0.1"
    command = "python sweep.py +experiment=smoke '+db.password=hunter 2' optim.lr=0.1,0.01"
    masked = redact_command(command)
    assert "hunter" not in masked
    assert masked == f"python sweep.py +experiment=smoke '+db.password={MASK}' optim.lr=0.1,0.01"


def test_the_word_list_comes_from_config_and_a_secret_cannot_be_swept():
    assert redaction_words(OmegaConf.create({"tracking": {"redact": ["pin"]}})) == ("pin",)
    assert "password" in redaction_words(OmegaConf.create({}))
    assert is_secret("card.pin", ["pin"]) and not is_secret("db.password", ["pin"])
    with pytest.raises(SweepConfigError, match="sweep.space.db.password"):
        check_space(["optim.lr", "db.password"])
    check_space(["optim.lr", "model.hidden"])


def test_tune_state_holds_the_tracking_callback_with_masked_overrides():
    """Tune pickles its callbacks into tuner.pkl; the callback's overrides are masked there only."""
    import pickle

    from sweeps.tracking import MLflowTracking

    tracking = MLflowTracking("sqlite:///unused.db")
    tracking.base_overrides = ["+experiment=smoke", "+db.password=hunter2"]
    restored = pickle.loads(pickle.dumps(tracking))
    assert restored.base_overrides == ["+experiment=smoke", f"+db.password={MASK}"]
    assert tracking.base_overrides[1] == "+db.password=hunter2"
