"""The Hydra peer of the orchestration benchmark composes the platform's configs as a plain Hydra app."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_the_hydra_peer_composes_a_smoke_job():
    done = subprocess.run(
        [sys.executable, "bench/hydra_peer.py", "+experiment=smoke", "optim.lr=0.01", "--cfg", "job"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "lr: 0.01" in done.stdout and "analysis:" in done.stdout
