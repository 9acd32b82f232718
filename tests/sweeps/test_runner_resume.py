"""A resume must agree with the saved sweep's settings (or be forced)."""

from __future__ import annotations

import pytest

from sweeps.errors import SweepConfigError
from sweeps.runner import check_same_plan

SAVED = {"overrides": ["+experiment=smoke", "trainer.max_epochs=3"], "space": {"optim.lr": "0.1,0.01"},
         "seeds": [0, 1], "num_samples": 1}


def test_same_plan_resumes_and_a_difference_is_named():
    check_same_plan(SAVED, dict(SAVED), force=False)
    check_same_plan(None, SAVED, force=False)  # a state saved before plans were recorded
    other = {**SAVED, "seeds": [0, 1, 2], "overrides": ["+experiment=smoke", "trainer.max_epochs=8"]}
    with pytest.raises(SweepConfigError) as err:
        check_same_plan(SAVED, other, force=False)
    assert "seeds" in str(err.value) and "trainer.max_epochs=8" in str(err.value)
    assert "resume=force" in str(err.value)
    check_same_plan(SAVED, other, force=True)
