"""The typed sweep and resource settings: every bad value is one SweepConfigError naming it."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from sweeps.config import compose_config
from sweeps.errors import SweepConfigError
from sweeps.settings import check_output_dir, check_resources, check_sweep


def _cfg(sweep: dict | None = None, resources: dict | None = None):
    return OmegaConf.create(
        {
            "sweep": {"name": "s", "seeds": [0, 1], **(sweep or {})},
            "resources": {"workers": 1, "cpu": 1, "gpu": 0, **(resources or {})},
            "cluster": {"_target_": "sweeps.cluster.LocalCluster", "num_cpus": 2},
        }
    )


@pytest.mark.parametrize(
    ("sweep", "message"),
    [
        ({"seeds": "abc"}, "sweep.seeds must be a list of integers"),
        ({"seeds": 5}, "sweep.seeds must be a list of integers"),
        ({"seeds": ["a", "b"]}, "sweep.seeds[0]"),
        ({"seeds": [0.5, 1.5]}, "sweep.seeds[0]"),
        ({"seeds": [-1, -2]}, "sweep.seeds must lie in"),
        ({"seeds": [1, 1]}, "duplicates"),
        ({"seeds": []}, "sweep.seeds is empty"),
        ({"num_samples": "abc"}, "sweep.num_samples"),
        ({"num_samples": 0}, "sweep.num_samples must be at least 1"),
        ({"max_failures": "lots"}, "sweep.max_failures"),
        ({"save_state_s": -1}, "sweep.save_state_s must be at least 0"),
        ({"name": ".."}, "sweep.name"),
        ({"name": "a/b"}, "sweep.name"),
        ({"mode": "maximize"}, "sweep.mode"),
        ({"verbose": 7}, "sweep.verbose"),
        ({"unknown_setting": 1}, "sweep.unknown_setting"),
    ],
)
def test_bad_sweep_settings(sweep, message):
    with pytest.raises(SweepConfigError) as err:
        check_sweep(_cfg(sweep))
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        ({"cpu": 64}, "needs 64 CPUs"),
        ({"cpu": 1, "workers": 4}, "needs 4 CPUs"),
        ({"gpu": 1}, "GPUs"),
        ({"cpu": 0, "gpu": 0}, "both 0"),
        ({"workers": 0}, "resources.workers"),
        ({"cpu": "many"}, "resources.cpu"),
    ],
)
def test_impossible_resources_on_the_local_machine(resources, message, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    with pytest.raises(SweepConfigError, match=message.replace("(", r"\(")):
        check_resources(_cfg(resources=resources), local=True)


def test_good_settings_pass_and_remote_clusters_are_not_sized_here():
    check_sweep(_cfg())
    check_resources(_cfg(resources={"cpu": 2}), local=True)
    check_resources(_cfg(resources={"cpu": 64, "gpu": 8}), local=False)


def test_output_dir_under_a_file_or_read_only(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(SweepConfigError, match="a file is in the way"):
        check_output_dir(tmp_path / "file" / "out")
    check_output_dir(tmp_path / "fresh" / "out")
    assert (tmp_path / "fresh" / "out").is_dir()


def test_malformed_yaml_in_a_preset_is_one_line(tmp_path):
    (tmp_path / "sweep.yaml").write_text("sweep:\n  name: [unclosed\n")
    with pytest.raises(SweepConfigError) as err:
        compose_config([], config_dir=tmp_path)
    assert "\n" not in str(err.value)
