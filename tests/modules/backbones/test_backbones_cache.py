"""The one cached-features helper: built once, visible only when complete, keys unchanged, and no
draw from the caller's random streams."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from modules.backbones.cache import build_once, content_key, partial_path, progress, safe_name


def test_build_once_builds_once_and_returns_the_file(tmp_path):
    calls = []

    def write(partial: Path) -> None:
        calls.append(partial)
        partial.write_text("features")

    target = tmp_path / "sub" / "x.pt"
    assert build_once(target, write) == target
    assert build_once(target, write) == target
    assert len(calls) == 1 and calls[0] == partial_path(target)
    assert target.read_text() == "features" and not partial_path(target).exists()


def test_a_failed_build_leaves_no_file_a_later_call_would_read(tmp_path):
    def broken(partial: Path) -> None:
        partial.write_text("half")
        raise RuntimeError("killed")

    target = tmp_path / "x.pt"
    with pytest.raises(RuntimeError):
        build_once(target, broken)
    assert not target.exists()
    build_once(target, lambda partial: partial.write_text("whole"))
    assert target.read_text() == "whole"


def test_keys_are_the_digests_the_caches_on_disk_were_written_under():
    # the embedding cache hashed a JSON list, the selection pool a JSON dict with sorted keys
    payload = ["packed-v2", "smollm2", "causal", 128, ["a", "b"]]
    assert content_key(payload) == hashlib.sha1(json.dumps(payload).encode()).hexdigest()[:12]
    settings = {"vocab_size": 8, "seq_len": 4}
    assert content_key(settings) == hashlib.sha1(
        json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    assert safe_name("org/model v2", 6) == "del_v2"


def test_progress_counts_to_its_total(capsys):
    with progress(10, "[features] x", unit="tok") as bar:
        bar.update(4)
        bar.update(6)
    assert bar.n == 10 and "[features] x" in capsys.readouterr().err


def test_a_build_draws_nothing_from_the_caller_s_random_streams(tmp_path):
    import random

    import numpy as np
    import torch

    def write(partial: Path) -> None:
        partial.write_text(f"{torch.rand(1).item()} {np.random.rand()} {random.random()}")

    def seeded_draws(build: bool) -> tuple:
        torch.manual_seed(0), np.random.seed(0), random.seed(0)
        if build:
            build_once(tmp_path / "file", write)
        return torch.rand(2).tolist(), np.random.rand(2).tolist(), random.random()

    assert seeded_draws(build=True) == seeded_draws(build=False)
    assert (tmp_path / "file").exists()
