"""A sweep driver run while its process tree and listening sockets are watched, for the end-to-end
tests that check what a sweep leaves running and where Ray listens."""

from __future__ import annotations

import ipaddress
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Watched:
    """A finished driver: its output, every listening TCP socket seen in its process tree while it
    ran (pid, name, address), and the processes it started that were still alive 1 s after it ended."""

    result: subprocess.CompletedProcess
    sockets: set[tuple[int, str, str]]
    left: list[tuple[int, str]]


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


def watch_sweep(args: list[str], env: dict[str, str], timeout: float = 900) -> Watched:
    """Run ``python sweep.py ARGS`` from the project root, watching it until it exits."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        driver = subprocess.Popen([sys.executable, str(ROOT / "sweep.py"), *args], cwd=ROOT, env=env,
                                  stdout=out, stderr=err, text=True)
        root = psutil.Process(driver.pid)
        seen: dict[int, psutil.Process] = {}
        sockets: set[tuple[int, str, str]] = set()
        deadline = time.monotonic() + timeout
        while driver.poll() is None and time.monotonic() < deadline:
            tree, found = listening(root)
            seen.update((pid, proc) for pid, proc in tree.items() if pid != driver.pid)
            sockets |= found
            time.sleep(0.5)
        if driver.poll() is None:
            driver.kill()
        driver.wait(timeout=60)
        time.sleep(1)
        left = sorted((p.pid, p.name()) for p in seen.values() if _alive(p))
        out.seek(0)
        err.seek(0)
        result = subprocess.CompletedProcess(driver.args, driver.returncode, out.read(), err.read())
    return Watched(result, sockets, left)


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
