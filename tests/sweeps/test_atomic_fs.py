"""Ray's storage filesystem: a file being written never replaces the complete one before it."""

from __future__ import annotations

import errno
import pickle
import subprocess
import sys

import pytest
from pyarrow import fs

from sweeps.atomic_fs import AtomicLocalFileSystem, storage_filesystem
from tests.conftest import ROOT


@pytest.fixture
def atomic() -> fs.FileSystem:
    return fs.PyFileSystem(AtomicLocalFileSystem())


def test_a_file_being_written_leaves_the_old_one_readable(tmp_path, atomic):
    target = tmp_path / "experiment_state-1.json"
    target.write_text('{"complete": true}')
    stream = atomic.open_output_stream(str(target))
    stream.write(b'{"comp')  # the upload a killed driver never finished
    assert target.read_text() == '{"complete": true}'
    stream.write(b'lete": false}')
    stream.close()
    assert target.read_text() == '{"complete": false}'
    assert [p.name for p in tmp_path.iterdir()] == ["experiment_state-1.json"]


@pytest.mark.parametrize("torn", [b"", b'{"trial_data": [["{\\"status'], ids=["empty", "cut off"])
def test_an_experiment_state_copied_mid_rewrite_is_not_published(tmp_path, atomic, torn):
    """Ray rewrites the staging copy in place while a background upload may be reading it."""
    source = tmp_path / "staging"
    source.mkdir()
    (source / "experiment_state-1.json").write_bytes(torn)
    (source / "basic-variant-state-1.json").write_bytes(b"\x80\x05binary")  # a searcher's pickle
    storage = tmp_path / "storage"
    storage.mkdir()
    (storage / "experiment_state-1.json").write_text('{"complete": true}')
    fs.copy_files(str(source), str(storage), destination_filesystem=atomic)
    assert (storage / "experiment_state-1.json").read_text() == '{"complete": true}'
    assert (storage / "basic-variant-state-1.json").read_bytes() == b"\x80\x05binary"
    assert sorted(p.name for p in storage.iterdir()) == ["basic-variant-state-1.json", "experiment_state-1.json"]


def test_pyarrows_local_filesystem_truncates_in_place(tmp_path):
    """Why the atomic one exists: the stock one empties the target as soon as it opens it."""
    target = tmp_path / "experiment_state-1.json"
    target.write_text('{"complete": true}')
    stream = fs.LocalFileSystem().open_output_stream(str(target))
    assert target.read_text() == ""
    stream.close()


def test_ray_s_folder_upload_goes_through_it(tmp_path, atomic):
    source = tmp_path / "staging"
    (source / "trial" / "checkpoint_000000").mkdir(parents=True)
    (source / "trial" / "checkpoint_000000" / "weights").write_bytes(b"\x00" * 100_000)
    (source / "experiment_state-1.json").write_text("{}")
    fs.copy_files(str(source), str(tmp_path / "storage"), destination_filesystem=atomic)
    assert (tmp_path / "storage" / "trial" / "checkpoint_000000" / "weights").stat().st_size == 100_000
    assert (tmp_path / "storage" / "experiment_state-1.json").read_text() == "{}"
    assert not list((tmp_path / "storage").rglob("*.partial"))


def test_it_travels_to_ray_workers_and_only_local_paths_get_it(atomic):
    assert pickle.loads(pickle.dumps(atomic)).equals(atomic)
    assert storage_filesystem("s3://bucket/sweeps") is None
    assert storage_filesystem("/data/sweeps").type_name == "py::atomic-local"


WRITE_PAST_A_LIMIT = """
import resource, signal, sys
from pyarrow import fs
from sweeps.atomic_fs import AtomicLocalFileSystem
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past the limit a write fails (EFBIG), as on a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))
try:
    with fs.PyFileSystem(AtomicLocalFileSystem()).open_output_stream(sys.argv[1]) as stream:
        stream.write(b"x" * 5000)
except OSError as exc:
    print(exc.errno)
"""


def test_a_write_that_fails_midway_leaves_the_old_file_and_no_partial(tmp_path):
    target = tmp_path / "experiment_state-1.json"
    target.write_text('{"complete": true}')
    done = subprocess.run([sys.executable, "-c", WRITE_PAST_A_LIMIT, str(target)], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == str(errno.EFBIG), done.stderr
    assert target.read_text() == '{"complete": true}'
    assert [p.name for p in tmp_path.iterdir()] == [target.name]
