"""Shared loading of the Kubernetes manifests under infra/k8s, as kustomize renders them (offline):
the RayJob's pod templates exist only after rendering (the ray-job-pods component copies them
from the RayCluster). Example files, which the kustomization does not apply, are read as written."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S_DIR = ROOT / "infra" / "k8s"
KUSTOMIZATION = "kustomization.yaml"
KUBECTL = shutil.which("kubectl")  # its built-in kustomize renders the manifests
RENDERED = "kustomize"  # the file name given to rendered documents


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S_DIR.glob("*.yaml") if p.name != KUSTOMIZATION)


def file_documents(path: Path) -> list[dict]:
    """The non-empty YAML documents of one file, as written."""
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def render() -> str:
    """``kubectl kustomize infra/k8s``: what ``kubectl apply -k infra/k8s`` applies."""
    out = subprocess.run(
        [KUBECTL or "kubectl", "kustomize", str(K8S_DIR)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def load_documents() -> list[tuple[str, dict]]:
    """(file name, document): every rendered document, then those of the example files."""
    if KUBECTL is None:
        return []
    docs = [(RENDERED, doc) for doc in yaml.safe_load_all(render()) if doc]
    for path in manifest_files():
        if ".example." in path.name:
            docs += [(path.name, doc) for doc in file_documents(path)]
    return docs


DOCUMENTS = load_documents()
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl (kustomize) not installed")


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
