from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sweeps.config import config_targets
from sweeps.targets import UNSETTLED, check_target, class_defines

ROOT = Path(__file__).parents[2]
CONF_TARGETS = sorted({target for path in (ROOT / "conf").rglob("*.yaml")
                       for _, target in config_targets(yaml.safe_load(path.read_text()))
                       if "${" not in target})


def test_the_configs_targets_were_read():
    assert {"lightning.Trainer", "torch.optim.Adam", "sweeps.tracking.MLflowTracking"} <= set(CONF_TARGETS)


@pytest.mark.parametrize("target", CONF_TARGETS)
def test_every_target_the_configs_name_is_found_in_its_source(target):
    assert check_target(target) is True


@pytest.mark.parametrize(
    ("target", "error"),
    [
        ("torch.optim.Adamm", AttributeError),  # a typo in a class of an installed package
        ("modules.classification.mlp.NoSuchNet", AttributeError),
        ("modules.no_such_module.Net", AttributeError),
        ("no_such_package.Net", ImportError),
    ],
)
def test_a_target_that_does_not_exist_is_an_error(target, error):
    with pytest.raises(error):
        check_target(target)


def test_what_the_source_cannot_show_is_left_to_an_import(tmp_path, monkeypatch):
    (tmp_path / "lazy_pkg.py").write_text("def __getattr__(name):\n    return name\n")
    (tmp_path / "star_pkg.py").write_text("from os.path import *\nEXPLICIT = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert check_target("lazy_pkg.Anything") is UNSETTLED
    assert check_target("star_pkg.join") is UNSETTLED
    assert check_target("star_pkg.EXPLICIT") is True


def test_a_class_body_says_whether_the_task_checks_its_config():
    assert class_defines("modules.selection.task.SelectionTask", "check_config") is True
    assert class_defines("modules.embedding.task.EmbeddingTask", "check_config") is False


@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]])
def test_a_sweep_with_an_unknown_class_fails_before_anything_heavy_is_imported(tmp_path, dry_run):
    args = ["+experiment=smoke", "model._target_=modules.classification.mlp.NoSuchNet",
            f"paths.output_dir={tmp_path}", *dry_run]
    code = (
        "import contextlib, io, sys\n"
        "from sweeps.cli import main\n"
        "err = io.StringIO()\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):\n"
        f"    code = main({args!r})\n"
        "print(code, err.getvalue().strip().splitlines())\n"
        "print(sorted(m for m in ('ray', 'torch', 'lightning') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    result, imported = out.stdout.strip().splitlines()[-2:]
    assert result.startswith("2 [") and result.count("', '") == 0, out.stdout + out.stderr[-2000:]
    assert "model._target_: cannot import 'modules.classification.mlp.NoSuchNet'" in result
    assert imported == "[]"

