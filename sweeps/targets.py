"""Check a config's ``_target_`` from its source, without importing it.

The driver checks every ``_target_`` before Ray starts, but it never builds a model or a trainer:
importing the study modules would load torch and Lightning in the driver only to throw them away
(seconds of CPU on every sweep; each trial imports them anyway). So a target's module is found on
disk through its top-level package's search path (no package ``__init__`` runs), parsed with
:mod:`ast`, and the target's name must be bound at the module's top level (a class, a function, an
assignment or an import). What the source cannot settle (a compiled module, a namespace package,
a module-level ``__getattr__`` or a star import) is left to an import, as Hydra's ``_locate`` does.
"""

from __future__ import annotations

import ast
import importlib.util
from functools import cache
from pathlib import Path

UNSETTLED = None  # the source cannot tell: import to find out


def check_target(target: str) -> bool | None:
    """True when ``target`` ("package.module.Name") is bound in its module's source, ``UNSETTLED``
    when only an import can tell; raises ImportError (no such module) or AttributeError (the module
    does not define the name)."""
    parts = target.split(".")
    for split in range(len(parts), 0, -1):
        module, rest = ".".join(parts[:split]), parts[split:]
        found = _module_file(module)
        if found is UNSETTLED:
            return UNSETTLED
        if found is False:
            continue
        if not rest:
            return True
        names, more = _top_level_names(found)
        if rest[0] in names:
            return True
        if more:
            return UNSETTLED
        submodule = _module_file(f"{module}.{rest[0]}") if found.name == "__init__.py" else False
        if submodule is not False:
            return submodule if submodule is UNSETTLED else True
        raise AttributeError(f"module {module!r} has no attribute {rest[0]!r}")
    raise ImportError(f"no module named {parts[0]!r}")


def class_defines(target: str, attribute: str) -> bool | None:
    """Whether the class ``target`` defines ``attribute`` in its own body (a method or a class
    attribute); ``UNSETTLED`` when the class is not a plain class of its module's source (imported
    from elsewhere, or built with bases whose attributes the source cannot show)."""
    module, _, name = target.rpartition(".")
    found = _module_file(module) if module else False
    if not isinstance(found, Path):
        return UNSETTLED
    for node in _tree(found).body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            if any(not (isinstance(base, ast.Name) and base.id == "object") for base in node.bases):
                return UNSETTLED
            return attribute in _bound_names(node.body)
    return UNSETTLED


def _module_file(module: str) -> Path | bool | None:
    """The source file of ``module`` found without running any package's ``__init__``: a Path,
    False when there is no such module, ``UNSETTLED`` when it is not a plain ``.py`` file."""
    top, *subs = module.split(".")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return False
    if spec is None:
        return False
    origin = Path(spec.origin) if spec.origin and spec.has_location else None
    for sub in subs:
        if origin is None or origin.name != "__init__.py":
            return UNSETTLED if origin is None else False
        package = origin.parent
        candidates = [package / sub / "__init__.py", package / f"{sub}.py"]
        origin = next((path for path in candidates if path.is_file()), None)
        if origin is None:
            return UNSETTLED if any(package.glob(f"{sub}.*")) or (package / sub).is_dir() else False
    if origin is None or origin.suffix != ".py":
        return UNSETTLED
    return origin


@cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _top_level_names(path: Path) -> tuple[set[str], bool]:
    """Names a module binds at its top level, and whether it can bind others that its source does
    not name (a star import, a module-level ``__getattr__``)."""
    body = _tree(path).body
    names = _bound_names(body)
    star = any(isinstance(node, ast.ImportFrom) and any(alias.name == "*" for alias in node.names)
               for node in ast.walk(ast.Module(body=body, type_ignores=[])))
    return names, star or "__getattr__" in names


def _bound_names(body: list[ast.stmt]) -> set[str]:
    """Names bound by a block's statements, looking into ``if``/``try``/``with`` blocks."""
    names: set[str] = set()
    for node in body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.If | ast.Try | ast.With):
            blocks = [node.body, getattr(node, "orelse", []), getattr(node, "finalbody", [])]
            blocks += [handler.body for handler in getattr(node, "handlers", [])]
            names.update(*(_bound_names(block) for block in blocks))
    return names
