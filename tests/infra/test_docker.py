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


LOCK = DOCKER_DIR / "requirements-lock.txt"
PINNED_BASE = re.compile(r"^[\w./-]+:\d+\.\d+\.\d+[\w.-]*(@sha256:[0-9a-f]{64})?$|^[\w./-]+@sha256:[0-9a-f]{64}$")


def test_base_images_are_pinned_to_an_exact_version():
    for path in (GPU, CPU, MLFLOW):
        assert PINNED_BASE.match(_default_base(path)), f"{path.name}: {_default_base(path)}"


def _pip_installs(path: Path) -> list[str]:
    """The argument lists of every ``pip install`` of a Dockerfile's RUN instructions."""
    runs = " && ".join(_args(path, "RUN"))
    return [part.split("pip install", 1)[1] for part in runs.split("&&") if "pip install" in part]


def test_every_pip_package_is_pinned():
    """The MLflow image names exact versions; the project images constrain every package to the lock."""
    arg_values = dict(a.split("=", 1) for a in _args(MLFLOW, "ARG") if "=" in a)
    for install in _pip_installs(MLFLOW):
        for requirement in re.findall(r'"([^"]+)"', install):
            name, _, version = requirement.partition("==")
            assert version, f"Dockerfile.mlflow: {name} is not pinned"
            if version.startswith("${"):
                assert re.fullmatch(r"\d+(\.\d+)+", arg_values[version[2:-1]]), requirement
    for path in (GPU,):
        for install in _pip_installs(path):
            assert "requirements-lock.txt" in install and "torch-pin.txt" in install, f"{path.name}: {install}"
    run = " ".join(_args(CPU, "RUN"))
    assert "requirements-lock.txt" in run and "CONSTRAINTS=" in run and "constraints-cpu.txt" in run
    lines = [line for line in LOCK.read_text().splitlines() if line and not line.startswith("#")]
    assert len(lines) > 50 and all(re.fullmatch(r"[\w.-]+==[\w.+!-]+", line) for line in lines)
    names = {line.split("==")[0].lower() for line in lines}
    assert {"ray", "mlflow", "hydra-core", "lightning", "pip"} <= names and "torch" not in names


def test_the_code_in_the_images_is_not_writable_by_the_runtime_user():
    for path in (GPU, CPU):
        run = " ".join(_args(path, "RUN"))
        for chown in re.findall(r"chown (?:-R )?\S+ ([^&]+)", run):
            assert all(target.startswith(("/app/outputs", "/mnt/")) for target in chown.split()), chown
        assert "chmod -R go-w /app" in run, f"{path.name}: the code is made read-only"
        assert all("--chown" not in copy for copy in _args(path, "COPY")), path.name


def test_make_audit_runs_a_pinned_pip_audit():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^audit:", makefile, re.M)
    assert re.search(r"pip-audit==\d+\.\d+\.\d+", makefile)
