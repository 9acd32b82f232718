"""Shared loading of the Kubernetes manifests under infra/k8s (parsed once, offline)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S_DIR = ROOT / "infra" / "k8s"
KUSTOMIZATION = "kustomization.yaml"


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S_DIR.glob("*.yaml") if p.name != KUSTOMIZATION)


def load_documents() -> list[tuple[str, dict]]:
    """(file name, document) for every non-empty YAML document of every manifest file."""
    docs = []
    for path in manifest_files():
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                docs.append((path.name, doc))
    return docs


DOCUMENTS = load_documents()


def doc_id(item: tuple[str, dict]) -> str:
    name, doc = item
    return f"{name}:{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


def of_kind(kind: str) -> list[dict]:
    return [doc for _, doc in DOCUMENTS if doc.get("kind") == kind]


def one(kind: str, name: str | None = None) -> dict:
    found = [d for d in of_kind(kind) if name is None or d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def pod_templates() -> Iterator[tuple[str, dict]]:
    """(where, PodTemplateSpec) for every pod the manifests create, KubeRay's included."""
    for _, doc in DOCUMENTS:
        kind, name = doc["kind"], doc["metadata"]["name"]
        spec = doc.get("spec", {})
        if kind in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            yield f"{kind}/{name}", spec["template"]
        elif kind == "RayCluster":
            yield from ray_cluster_templates(f"{kind}/{name}", spec)
        elif kind == "RayJob":
            if "rayClusterSpec" in spec:
                yield from ray_cluster_templates(f"{kind}/{name}", spec["rayClusterSpec"])
            if "submitterPodTemplate" in spec:
                yield f"{kind}/{name}/submitter", spec["submitterPodTemplate"]


def ray_cluster_templates(where: str, cluster_spec: dict) -> Iterator[tuple[str, dict]]:
    yield f"{where}/head", cluster_spec["headGroupSpec"]["template"]
    for group in cluster_spec.get("workerGroupSpecs", []):
        yield f"{where}/{group['groupName']}", group["template"]


@pytest.fixture(scope="session")
def documents() -> list[tuple[str, dict]]:
    return DOCUMENTS
