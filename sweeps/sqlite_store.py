"""A new SQLite MLflow store starts as a copy of an empty store that MLflow itself created.

MLflow builds a new SQLite store by replaying its whole Alembic migration history, which costs
seconds of CPU each time: every sweep into a new output folder, and every ``mlflow server`` on a
new folder, paid it. MLflow has no option to skip it, so one empty store per MLflow version is kept
in the user's cache (``$XDG_CACHE_HOME/repsweep``, else ``~/.cache/repsweep``) and copied. The copy
holds MLflow's schema at its head revision and no experiment: on opening it MLflow creates its
Default experiment, as in any new store, with the artifact root of whoever opens it.

Written here because MLflow has no such option; the template is made by MLflow's own store class.
When anything in the way is not possible (the cache is not writable, the file system has no hard
links), MLflow creates the store as it always did.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from contextlib import closing
from importlib.metadata import version
from pathlib import Path

PREFIX = "sqlite:///"


def seed_sqlite_store(uri: str) -> bool:
    """Give the ``sqlite:///`` store ``uri`` names the empty template, if its file does not exist
    yet; returns whether it did. Any other URI, and an existing file, are left alone."""
    path = sqlite_path(uri)
    if path is None or path.exists():
        return False
    try:
        template = template_path()
        if not template.exists():
            make_template(template)
        return copy_if_absent(template, path)
    except (OSError, sqlite3.Error):
        return False  # MLflow makes the store itself


def sqlite_path(uri: str) -> Path | None:
    """The file of a plain ``sqlite:///`` URI; None for any other store or a URI with options."""
    if not uri.startswith(PREFIX) or "?" in uri:
        return None
    return Path(uri[len(PREFIX):])


def template_path() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "repsweep" / f"mlflow-{version('mlflow')}-empty-store.db"


def make_template(template: Path) -> None:
    """Let MLflow create and migrate a store in a scratch folder, drop the Default experiment it
    made there (with that folder's artifact root), and move it to ``template`` in one rename."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    template.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=template.parent) as scratch:
        made = Path(scratch) / "store.db"
        store = SqlAlchemyStore(f"{PREFIX}{made}", str(Path(scratch) / "artifacts"))
        store.engine.dispose()
        with closing(sqlite3.connect(made)) as db, db:
            db.execute("DELETE FROM experiments WHERE experiment_id = ?", (int(store.DEFAULT_EXPERIMENT_ID),))
        os.replace(made, template)


def copy_if_absent(template: Path, path: Path) -> bool:
    """Copy ``template`` to ``path`` unless a store appears there meanwhile (another process made
    one): the copy is complete before it takes the name, and never replaces a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    try:
        shutil.copyfile(template, partial)
        os.link(partial, path)
        return True
    except FileExistsError:
        return False
    finally:
        partial.unlink(missing_ok=True)
