"""The container images: CUDA base with GPU extras, non-root, and a build context that fits."""

from __future__ import annotations

import re
from pathlib import Path

from tests.infra.conftest import ROOT

DOCKER_DIR = ROOT / "infra" / "docker"
GPU = DOCKER_DIR / "Dockerfile"
CPU = DOCKER_DIR / "Dockerfile.cpu"
MLFLOW = DOCKER_DIR / "Dockerfile.mlflow"


def _instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _args(path: Path, instruction: str) -> list[str]:
    return [rest for word, rest in _instructions(path) if word == instruction]


def _default_base(path: Path) -> str:
    (base,) = _args(path, "FROM")
    if base.startswith("${"):
        name = base[2:-1]
        (arg,) = [a for a in _args(path, "ARG") if a.startswith(f"{name}=")]
        base = arg.split("=", 1)[1]
    return base


def test_gpu_image_is_cuda_pytorch_with_gpu_extras_and_no_cpu_pin():
    base = _default_base(GPU)
    assert re.fullmatch(
        r"pytorch/pytorch:\d+\.\d+\.\d+-cuda\d+\.\d+-cudnn\d+-(devel|runtime)", base
    )
    text = GPU.read_text()
    run = " ".join(_args(GPU, "RUN"))
    assert "deepspeed" in run and '-e ".[' in run
    assert "constraints-cpu" not in run and "constraints-cpu" not in " ".join(_args(GPU, "COPY"))
    assert "HF_HUB_OFFLINE" not in " ".join(_args(GPU, "ENV"))
    assert "org.opencontainers.image.title" in text


def _final_user(path: Path) -> str:
    users = _args(path, "USER")
    assert users, f"{path.name}: no USER"
    user = users[-1].split(":")[0]
    if user.startswith("${"):
        name = user[2:-1]
        (arg,) = [a for a in _args(path, "ARG") if a.startswith(f"{name}=")]
        user = arg.split("=", 1)[1]
    return user


def test_every_image_runs_as_a_non_root_user():
    for path in (GPU, CPU, MLFLOW):
        user = _final_user(path)
        assert user not in ("root", "0"), path.name
        assert user.isdigit(), f"{path.name}: numeric USER, so runAsNonRoot can verify it"


def test_images_have_an_entrypoint_or_cmd():
    for path in (GPU, CPU, MLFLOW):
        assert _args(path, "CMD") or _args(path, "ENTRYPOINT"), path.name


def test_copied_sources_exist_and_are_not_docker_ignored():
    ignored = {
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", "outputs"} <= ignored
    for path in (GPU, CPU):
        for copy in _args(path, "COPY"):
            *sources, _ = copy.split()
            for source in sources:
                if source.startswith("--"):
                    continue
                assert (ROOT / source).exists(), f"{path.name}: COPY {source}"
                assert source not in ignored, f"{path.name}: COPY {source} is docker-ignored"


def test_readme_points_at_the_moved_dockerfiles():
    docs = (ROOT / "README.md").read_text() + (ROOT / "infra" / "README.md").read_text()
    assert "infra/docker/Dockerfile" in docs
    assert not (ROOT / "infra" / "Dockerfile").exists()
    assert "infra/Dockerfile " not in docs and "infra/Dockerfile`" not in docs
