"""A store seeded from the template is the store MLflow would have made: same schema and revision,
the same Default experiment (with the opener's artifact root), the same experiment ids; an existing
store is never touched, and anything but a plain ``sqlite:///`` URI is left to MLflow."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from mlflow import MlflowClient

from sweeps.sqlite_store import seed_sqlite_store, template_path


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _schema(path: Path) -> tuple[dict, list]:
    """Every table, index and trigger with its definition's clauses as a set: SQLAlchemy emits a
    table's constraints in an order that varies from run to run (two stores MLflow makes in two
    processes differ in it), so the order is not part of the schema."""
    with closing(sqlite3.connect(path)) as db:
        objects = db.execute("SELECT name, sql FROM sqlite_master").fetchall()
        revision = db.execute("SELECT version_num FROM alembic_version").fetchall()
    clauses = {name: sorted(line.strip().rstrip(",") for line in (sql or "").splitlines()) for name, sql in objects}
    return clauses, revision


def _default_and_next(client: MlflowClient) -> tuple[str, str, str]:
    default = client.get_experiment("0")
    return default.name, default.artifact_location, client.create_experiment("study")


def test_a_seeded_store_is_the_store_mlflow_makes(cache, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # MLflow's default artifact root is relative to the working folder
    made, seeded = tmp_path / "made.db", tmp_path / "sweep" / "mlflow.db"
    assert seed_sqlite_store(f"sqlite:///{seeded}")
    assert template_path().is_file() and template_path().is_relative_to(cache)
    assert _default_and_next(MlflowClient(f"sqlite:///{seeded}")) == \
        _default_and_next(MlflowClient(f"sqlite:///{made}")) != ("", "", "")
    (seeded_objects, seeded_revision), (made_objects, made_revision) = _schema(seeded), _schema(made)
    assert seeded_revision == made_revision
    assert seeded_objects == made_objects, {k for k in seeded_objects.keys() | made_objects.keys()
                                            if seeded_objects.get(k) != made_objects.get(k)}
    assert not list(seeded.parent.glob("*.partial"))


def test_an_existing_store_is_never_replaced(cache, tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert seed_sqlite_store(uri)
    run = MlflowClient(uri).create_run("0").info.run_id
    assert not seed_sqlite_store(uri)
    assert MlflowClient(uri).get_run(run).info.run_id == run


@pytest.mark.parametrize("uri", ["http://127.0.0.1:5000", "file:///tmp/mlruns", "sqlite:///{tmp}/a.db?mode=ro"])
def test_other_stores_are_left_to_mlflow(cache, tmp_path, uri):
    assert not seed_sqlite_store(uri.format(tmp=tmp_path))
    assert not cache.exists() and not (tmp_path / "a.db").exists()


def test_an_unwritable_cache_leaves_the_store_to_mlflow(tmp_path, monkeypatch):
    (tmp_path / "not-a-folder").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "not-a-folder"))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert not seed_sqlite_store(uri)
    assert MlflowClient(uri).get_experiment("0").name == "Default"
