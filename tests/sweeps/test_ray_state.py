from __future__ import annotations

import pytest

from sweeps.errors import SweepConfigError
from sweeps.ray_state import EXPERIMENT_STATE_FILES, check_experiment_state, newest_experiment_state


def test_the_newest_experiment_state_must_parse_and_nothing_is_changed(tmp_path):
    (tmp_path / "experiment_state-2026-12-02_10-00-00.json").write_text('{"trial_data": []}')
    check_experiment_state(str(tmp_path))
    check_experiment_state(str(tmp_path / "no-state-yet"))  # Tuner.restore names that case itself
    damaged = tmp_path / "experiment_state-2026-12-02_11-00-00.json"
    damaged.write_text('{"trial_data": [["{\\"sta')
    with pytest.raises(SweepConfigError, match="experiment_state-2026-12-02_11-00-00.json is damaged"):
        check_experiment_state(str(tmp_path))
    assert len(list(tmp_path.iterdir())) == 2


def test_the_state_file_pattern_and_the_newest_are_ray_s():
    from ray.tune.execution.tune_controller import TuneController

    assert TuneController.CKPT_FILE_TMPL.format("*") == EXPERIMENT_STATE_FILES
    names = ["experiment_state-2026-12-02_10-00-00.json", "experiment_state-2026-12-02_11-00-00.json",
             "basic-variant-state-2026-12-02_12-00-00.json", "tuner.pkl"]
    assert newest_experiment_state(names) == "experiment_state-2026-12-02_11-00-00.json"
    assert newest_experiment_state(["tuner.pkl"]) is None
