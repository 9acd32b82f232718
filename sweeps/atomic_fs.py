"""A local filesystem on which every file written appears whole or not at all, for Ray's storage.

Ray uploads the sweep's state (``experiment_state-*.json``, the searcher's state, trial results and
checkpoints) from its staging folder to ``storage.path`` by overwriting each file in place. A driver
killed during an upload leaves a truncated state file that ``Tuner.restore`` cannot read ("Failed to
restore the run state"), and the sweep cannot be resumed. Here each file is written next to its
target and renamed over it when complete, so a kill leaves the previous version. Object stores
(``s3://``) already replace an object whole, so only a local or mounted folder needs this.

The upload can also read a state file that is being rewritten: Ray rewrites
``experiment_state-*.json`` in its staging folder in place (``open(..., "w")`` then ``json.dump``:
ray/tune/execution/tune_controller.py ``TuneController.save_to_dir``, Ray 2.60) while the previous
upload may still be copying that folder in a background thread
(ray/tune/execution/experiment_state.py ``sync_up_experiment_state``: ``save_fn()``, then
``syncer.sync_up``). A copy caught empty or half written made the next resume start a new,
trial-less run ("Failed to restore the run state"); such a copy is not published here, so the
previous state stays.

Written here because pyarrow's ``LocalFileSystem`` writes in place and Ray takes any pyarrow filesystem.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import uuid

import pyarrow as pa
from pyarrow import fs

from sweeps.ray_state import is_experiment_state
from sweeps.storage import is_uri


class AtomicLocalFileSystem(fs.FileSystemHandler):
    """pyarrow's local filesystem, except that ``open_output_stream`` writes a temporary file and
    renames it onto the target when closed."""

    def __init__(self) -> None:
        self._local = fs.LocalFileSystem()

    def __reduce__(self):  # shipped to Ray's trial workers inside the storage context
        return (AtomicLocalFileSystem, ())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AtomicLocalFileSystem)

    def __hash__(self) -> int:
        return hash(AtomicLocalFileSystem)

    def get_type_name(self) -> str:
        return "atomic-local"

    def normalize_path(self, path: str) -> str:
        return self._local.normalize_path(path)

    def get_file_info(self, paths: list[str]) -> list[fs.FileInfo]:
        return self._local.get_file_info(paths)

    def get_file_info_selector(self, selector: fs.FileSelector) -> list[fs.FileInfo]:
        return self._local.get_file_info(selector)

    def create_dir(self, path: str, recursive: bool) -> None:
        self._local.create_dir(path, recursive=recursive)

    def delete_dir(self, path: str) -> None:
        self._local.delete_dir(path)

    def delete_dir_contents(self, path: str, missing_dir_ok: bool = False) -> None:
        self._local.delete_dir_contents(path, missing_dir_ok=missing_dir_ok)

    def delete_root_dir_contents(self) -> None:
        raise OSError("refusing to delete the contents of the filesystem root")

    def delete_file(self, path: str) -> None:
        self._local.delete_file(path)

    def move(self, src: str, dest: str) -> None:
        self._local.move(src, dest)

    def copy_file(self, src: str, dest: str) -> None:
        self._local.copy_file(src, dest)

    def open_input_stream(self, path: str) -> pa.NativeFile:
        return self._local.open_input_stream(path)

    def open_input_file(self, path: str) -> pa.NativeFile:
        return self._local.open_input_file(path)

    def open_output_stream(self, path: str, metadata: dict | None = None) -> pa.NativeFile:
        return pa.PythonFile(_RenamedOnClose(path), mode="w")

    def open_append_stream(self, path: str, metadata: dict | None = None) -> pa.NativeFile:
        return self._local.open_append_stream(path)


class _RenamedOnClose(io.RawIOBase):
    """Writes to a hidden file beside ``path``; closing renames it onto ``path`` (one atomic step),
    unless a write failed (a full disk) or an experiment state is not whole JSON: then the hidden
    file is removed and ``path`` left as it was."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        head, tail = os.path.split(path)
        self.partial = os.path.join(head, f".{tail}.{uuid.uuid4().hex[:8]}.partial")
        self.failed = False
        self._file = open(self.partial, "wb")  # noqa: SIM115 - closed in close()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        return self._guarded(self._file.write, data)

    def flush(self) -> None:
        self._guarded(self._file.flush)

    def _guarded(self, operation, *args):
        try:
            return operation(*args)
        except BaseException:
            self.failed = True
            raise

    def close(self) -> None:
        if self.closed:
            return
        try:
            super().close()  # flushes first
            self._guarded(self._file.close)
        finally:
            if self.failed:
                with contextlib.suppress(OSError):  # its buffer cannot be written either
                    self._file.close()
                os.remove(self.partial)
        if self.failed:
            return
        if _is_torn_state(self.path, self.partial):
            os.remove(self.partial)
            return
        os.replace(self.partial, self.path)


def _is_torn_state(path: str, written: str) -> bool:
    """Whether ``written``, bound for ``path``, is an experiment state copied mid-rewrite."""
    if not is_experiment_state(os.path.basename(path)):
        return False
    try:
        with open(written, "rb") as stream:
            json.loads(stream.read())
    except ValueError:  # empty or cut off (UnicodeDecodeError is a ValueError too)
        return True
    return False


def storage_filesystem(path: str) -> fs.FileSystem | None:
    """The filesystem Ray should use for ``storage.path``: atomic writes for a local or mounted
    folder; None (Ray's own choice) for a URI such as ``s3://``."""
    return None if is_uri(path) else fs.PyFileSystem(AtomicLocalFileSystem())
