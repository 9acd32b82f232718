"""Two sweeps with the same name started together, on a fresh output folder and then on the one
the first pair left: one runs, the other is refused with one line naming the running one's PID
and host (exit 2), and the MLflow store stays usable."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from mlflow import MlflowClient

from tests.conftest import ROOT
from tests.e2e.mlflow_store import store_uri, sweep_runs

pytestmark = pytest.mark.slow
ARGS = ["+experiment=smoke", "trainer.max_epochs=1", "sweep.seeds=[0]", "sweep.name=twice",
        "sweep.space.optim.lr='choice(0.01)'", "sweep.space.model.hidden='choice(16)'", "sweep.verbose=0"]


def _start_two(output_dir) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, str(ROOT / "sweep.py"), *ARGS, f"paths.output_dir={output_dir}"],
                             cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]


def test_two_sweeps_of_one_name_at_once_one_is_refused_naming_the_other(short_tmp):
    for runs_before in (0, 1):  # a fresh folder, then the folder the first pair left
        sweeps = _start_two(short_tmp)
        errors = {sweep.pid: sweep.communicate(timeout=600)[1] for sweep in sweeps}
        codes = sorted(sweep.returncode for sweep in sweeps)
        assert codes == [0, 2], {pid: err[-2000:] for pid, err in errors.items()}
        (ran,) = [s for s in sweeps if s.returncode == 0]
        (refused,) = [s for s in sweeps if s.returncode == 2]
        lines = errors[refused.pid].strip().splitlines()
        assert len(lines) == 1, lines
        assert lines[0].startswith("error: sweep 'twice' is already running")
        assert f"pid {ran.pid} on host {socket.gethostname()}" in lines[0]

        parents, children = sweep_runs(short_tmp, "twice")  # the store answers: not left half-created
        assert len(parents) == runs_before + 1 and all(p.info.status == "FINISHED" for p in parents)
        assert len(children) == len(parents)
    MlflowClient(store_uri(short_tmp)).set_tag(parents[0].info.run_id, "checked", "yes")  # and takes writes
