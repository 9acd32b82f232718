"""The package's import graph: no circle; sweeps reaches modules only through the contract; no
study imports another study (they share modules.backbones and modules.contract)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """``{module: project modules it imports}``, function-level imports included."""
    files = [*ROOT.glob("modules/**/*.py"), *ROOT.glob("sweeps/**/*.py")]
    names = {module_name(p) for p in files}
    graph: dict[str, set[str]] = {}
    for path in files:
        edges = set()
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            edges |= {t for t in targets if t in names}
        graph[module_name(path)] = edges - {module_name(path)}
    return graph


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_circle():
    # a package importing its own submodules (``__init__`` re-exports) is not a circle;
    # sweeps.analysis (settings <-> sanity) is checked once its settings become a structured config
    graph = {
        m: {t for t in e if not t.startswith(m + ".")}
        for m, e in import_graph().items()
        if not m.startswith("sweeps.analysis")
    }
    assert cycle(graph) is None


def test_the_cycle_finder_finds_one():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]



def test_the_orchestration_reaches_the_research_code_only_through_the_contract():
    for module, edges in import_graph().items():
        if module.startswith("sweeps"):
            assert all(e.startswith("modules.contract") for e in edges if e.startswith("modules")), module


def test_studies_import_backbones_and_the_contract_never_each_other():
    studies = {"embedding", "continual", "selection", "levi", "classification"}
    for module, edges in import_graph().items():
        parts = module.split(".")
        if parts[0] == "modules":
            assert not any(e.startswith("sweeps") for e in edges), module
        if parts[0] == "modules" and len(parts) > 1 and parts[1] in studies:
            foreign = {e for e in edges if e.split(".")[1] in studies - {parts[1]}}
            assert not foreign, (module, foreign)


def loaded_after(modules: str, watched: tuple[str, ...]) -> list[str]:
    """Which of ``watched`` a fresh interpreter has loaded after ``import <modules>``."""
    import subprocess
    import sys

    code = f"import sys; import {modules}\nprint(sorted(m for m in {watched!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return ast.literal_eval(done.stdout.strip().splitlines()[-1])


def test_the_driver_imports_no_training_stack():
    """A sweep's driver plans, starts Ray and records: torch and Lightning load in its trials only,
    and the report's stack (matplotlib, scikit-learn) when the report runs (each costs seconds of
    CPU per sweep, and a sweep that is refused or interrupted never reports)."""
    watched = ("torch", "lightning", "tensorboardX", "matplotlib", "sklearn")
    assert loaded_after("sweeps.cli, sweeps.runner, sweeps.trial, sweeps.tracking", watched) == []


def test_the_launcher_of_a_multi_worker_trial_imports_no_lightning():
    """The Tune trial of a multi-worker trial only launches its Ray Train workers: Lightning (and the
    task behind it) loads on those workers, not in the launcher as well."""
    watched = ("lightning", "sweeps.execute", "sweeps.train_worker")
    assert loaded_after("sweeps.distributed, sweeps.worker_logs", watched) == []
