from __future__ import annotations

from pathlib import Path

from mlflow import MlflowClient

from sweeps.artifact_links import local_artifact_dir, log_artifacts_linked


def _trial_folder(root: Path) -> Path:
    folder = root / "trial"
    (folder / "sentence_transformer").mkdir(parents=True)
    (folder / "sentence_transformer" / "model.safetensors").write_bytes(b"w" * 1000)
    (folder / "per_example.csv").write_text("a,b\n1,2\n")
    return folder


def test_local_store_links_every_file_instead_of_copying(tmp_path: Path) -> None:
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.create_experiment("x", artifact_location=(tmp_path / "art").as_uri())
    run_id = client.create_run(experiment).info.run_id
    folder = _trial_folder(tmp_path)

    log_artifacts_linked(client, run_id, folder)
    log_artifacts_linked(client, run_id, folder)  # a retried write replaces, never fails

    listed = {a.path for a in client.list_artifacts(run_id)}
    assert listed == {"sentence_transformer", "per_example.csv"}
    stored = local_artifact_dir(client.get_run(run_id).info.artifact_uri)
    weights = stored / "sentence_transformer" / "model.safetensors"
    assert weights.stat().st_ino == (folder / "sentence_transformer" / "model.safetensors").stat().st_ino
    assert (stored / "per_example.csv").read_text() == "a,b\n1,2\n"


def test_remote_uris_are_not_local() -> None:
    assert local_artifact_dir("mlflow-artifacts:/1/abc/artifacts") is None
    assert local_artifact_dir("s3://bucket/x") is None
    assert local_artifact_dir("file:///tmp/a") == Path("/tmp/a")
