"""End-to-end: one real sweep (the smoke study shrunk to one trial, one epoch) with a secret in
the environment and one on the command line. Neither reaches the output folder (MLflow store,
Tune state, logs); every Ray process listens on loopback only and is gone when the driver exits."""

from __future__ import annotations

import ipaddress
import os
import stat
import subprocess
import sys
import time
import uuid

import psutil
import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow
PASSWORD = "hunter2"


def listening(root: psutil.Process) -> tuple[dict[int, psutil.Process], set[tuple[int, str, str]]]:
    """The process tree under ``root`` and its listening TCP sockets (pid, name, address)."""
    try:
        tree = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return {}, set()
    found = set()
    for proc in tree:
        try:
            for conn in proc.net_connections(kind="inet"):
                if conn.status == psutil.CONN_LISTEN:
                    found.add((proc.pid, proc.name(), conn.laddr.ip))
        except psutil.Error:
            continue
    return {p.pid: p for p in tree}, found


def is_loopback(ip: str) -> bool:
    address = ipaddress.ip_address(ip.split("%")[0])
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def test_secrets_stay_out_of_the_outputs_and_ray_stays_on_loopback(short_tmp):
    out, ray_root = short_tmp / "out", short_tmp / "r"
    aws_secret = f"aws-{uuid.uuid4().hex}"
    env = {**os.environ, "AWS_SECRET_ACCESS_KEY": aws_secret, "PYTHONPATH": str(ROOT)}
    args = ["+experiment=smoke", "sweep.seeds=[0]", "sweep.space.optim.lr=choice(0.01)",
            "sweep.space.model.hidden=choice(16)", "trainer.max_epochs=1",
            f"+db.password={PASSWORD}", f"paths.output_dir={out}", f"cluster.tmp_dir={ray_root}"]
    driver = subprocess.Popen([sys.executable, str(ROOT / "sweep.py"), *args], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    root = psutil.Process(driver.pid)
    seen: dict[int, psutil.Process] = {}
    sockets: set[tuple[int, str, str]] = set()
    deadline = time.monotonic() + 900
    while driver.poll() is None and time.monotonic() < deadline:
        tree, found = listening(root)
        seen.update((pid, proc) for pid, proc in tree.items() if pid != driver.pid)
        sockets |= found
        time.sleep(0.5)
    output, _ = driver.communicate(timeout=60)
    assert driver.returncode == 0, output[-3000:]

    assert any(name == "gcs_server" for _, name, _ in sockets), f"Ray's sockets were observed: {sockets}"
    public = sorted(s for s in sockets if not is_loopback(s[2]))
    assert not public, f"listening on a non-loopback address: {public}"
    time.sleep(1)
    left = sorted((p.pid, p.name()) for p in seen.values() if p.is_running() and p.status() != psutil.STATUS_ZOMBIE)
    assert not left, f"Ray processes outlived the driver: {left}"

    assert stat.S_IMODE(ray_root.stat().st_mode) == 0o700, "Ray's session logs are owner-only"
    assert not (out / "ray_tmp").exists()
    assert (out / "mlflow.db").is_file() and any(out.rglob("tuner.pkl")) and any(out.rglob("command.txt"))
    for secret in (aws_secret, PASSWORD):
        grep = subprocess.run(["grep", "-rl", "--binary-files=text", secret, str(out)],
                              capture_output=True, text=True)
        assert grep.returncode == 1 and not grep.stdout, f"{secret[:6]}... found in {grep.stdout}"
    (command,) = out.rglob("command.txt")
    assert "+db.password=***" in command.read_text()
