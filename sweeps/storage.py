"""The sweep's state storage: a local or shared folder, or an ``s3://`` URI (as Ray's storage_path).

Thin helpers over ``pyarrow.fs``, the filesystem layer Ray itself uses for ``storage_path``.
"""

from __future__ import annotations

from typing import Any


def _resolve(uri: str) -> tuple[Any, str]:
    from pyarrow import fs  # imported on use: the CLI's --help and bad-input paths never need it

    return fs.FileSystem.from_uri(uri)


def exists(uri: str) -> bool:
    from pyarrow import fs

    filesystem, path = _resolve(uri)
    return filesystem.get_file_info(path).type != fs.FileType.NotFound


def move(src: str, dst: str) -> None:
    filesystem, src_path = _resolve(src)
    _, dst_path = _resolve(dst)
    filesystem.move(src_path, dst_path)


def read_text(uri: str) -> str:
    filesystem, path = _resolve(uri)
    with filesystem.open_input_stream(path) as stream:
        return stream.read().decode()


def write_text(uri: str, text: str) -> None:
    """Write atomically: a temp file next to the target, then a rename, so a full disk or a crash
    leaves the old file or the new one, never a truncated one."""
    filesystem, path = _resolve(uri)
    filesystem.create_dir(path.rsplit("/", 1)[0], recursive=True)
    partial = f"{path}.partial"
    with filesystem.open_output_stream(partial) as stream:
        stream.write(text.encode())
    filesystem.move(partial, path)


def names(uri: str) -> list[str]:
    """The names of the files directly in a folder (none when it does not exist)."""
    from pyarrow import fs

    filesystem, path = _resolve(uri)
    infos = filesystem.get_file_info(fs.FileSelector(path, allow_not_found=True))
    return [info.base_name for info in infos if info.type == fs.FileType.File]


def size(uri: str) -> int | None:
    """A file's size in bytes, None when it does not exist."""
    from pyarrow import fs

    filesystem, path = _resolve(uri)
    info = filesystem.get_file_info(path)
    return None if info.type == fs.FileType.NotFound else int(info.size or 0)


def is_uri(path: str) -> bool:
    return "://" in path
