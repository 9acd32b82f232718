"""End-to-end, on the session's smoke sweep (tests/conftest.py): a secret in the driver's
environment and one on its command line reach no file in the output folder (MLflow store, Tune
state, logs); every Ray process listens on loopback only and is gone when the driver exits."""

from __future__ import annotations

import stat
import subprocess

import pytest

from tests.e2e.watch import is_loopback

pytestmark = pytest.mark.slow


def test_ray_listens_on_loopback_only_and_ends_with_the_driver(smoke_sweep):
    watched = smoke_sweep.watched
    assert watched.result.returncode == 0, watched.result.stderr[-3000:]
    assert any(name == "gcs_server" for _, name, _ in watched.sockets), \
        f"Ray's sockets were observed: {watched.sockets}"
    public = sorted(s for s in watched.sockets if not is_loopback(s[2]))
    assert not public, f"listening on a non-loopback address: {public}"
    assert not watched.left, f"Ray processes outlived the driver: {watched.left}"


def test_secrets_stay_out_of_the_outputs_and_ray_logs_are_owner_only(smoke_sweep):
    out = smoke_sweep.out
    assert smoke_sweep.result.returncode == 0, smoke_sweep.result.stderr[-3000:]
    assert stat.S_IMODE(smoke_sweep.ray_root.stat().st_mode) == 0o700, "Ray's session logs are owner-only"
    assert not (out / "ray_tmp").exists()
    assert (out / "mlflow.db").is_file() and any(out.rglob("tuner.pkl")) and any(out.rglob("command.txt"))
    for secret in smoke_sweep.secrets:
        grep = subprocess.run(["grep", "-rl", "--binary-files=text", secret, str(out)],
                              capture_output=True, text=True)
        assert grep.returncode == 1 and not grep.stdout, f"{secret[:6]}... found in {grep.stdout}"
    (command,) = out.rglob("command.txt")
    assert "+db.password=***" in command.read_text()
