"""The local Ray's private temp dir (owner-only, outside the output folder), without starting Ray."""

from __future__ import annotations

import os
import stat

import pytest

from sweeps.cluster import LocalCluster, private_dir
from sweeps.errors import SweepConfigError


def test_the_temp_dir_is_ray_inside_an_owner_only_folder(short_tmp):
    folder = short_tmp / "r"
    assert LocalCluster(tmp_dir=str(folder)).temp_dir() == str(folder / "ray")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    folder.chmod(0o755)  # an existing folder is tightened again
    private_dir(folder)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_by_default_and_for_long_paths_it_is_per_user_in_the_system_temp(tmp_path):
    default = LocalCluster().temp_dir()
    assert default.endswith(f"/repsweep-{os.getuid()}/ray")
    long = LocalCluster(tmp_dir=str(tmp_path / ("x" * 60))).temp_dir()
    assert f"/repsweep-{os.getuid()}-" in long and len(long) <= 45


def test_a_folder_planted_as_a_symlink_is_refused(short_tmp):
    (short_tmp / "elsewhere").mkdir()
    (short_tmp / "r").symlink_to(short_tmp / "elsewhere")
    with pytest.raises(SweepConfigError, match="not a folder owned by this user"):
        private_dir(short_tmp / "r")
