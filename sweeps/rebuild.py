"""Rebuild a finished trial's config from MLflow: the LOCAL config tree plus the logged overrides.

Artifacts are data, never code. A trial is rebuilt from the sweep's own config tree (``conf/``,
composed with :func:`sweeps.config.compose_config`) and plain override strings read back from
MLflow: the parent's base overrides (``overrides.json``) and the child run's swept values (its
params). Anyone who can write to the tracking server can plant those strings, so each must
compose against the tree, may not name a Hydra special key (``_target_``, ``_args_``...) or the
``hydra`` node, and every ``_target_`` of the result must be one the local tree declares. A
run's ``config.yaml`` is only cross-checked (as YAML data) against the rebuilt config: a
``_target_`` there that the overrides do not produce means a tampered run, and is refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from omegaconf import DictConfig, ListConfig

from sweeps.config import CONFIG_DIR, compose_config, config_targets, resolve
from sweeps.errors import SweepConfigError
from sweeps.tracking import OVERRIDES_FILE, SAMPLED_TAG

_SPECIAL = re.compile(r"^_[a-z]+_$")  # Hydra's _target_, _args_, _partial_, _recursive_, _convert_
_parser = OverridesParser.create()


class RebuildError(SweepConfigError):
    """A logged override or artifact that does not rebuild safely: one line, exit code 2."""


def logged_base_overrides(client: MlflowClient, parent: str, folder: Path) -> list[str]:
    """The parent run's base overrides (``overrides.json``: plain strings, secrets masked)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        data = json.loads(Path(client.download_artifacts(parent, OVERRIDES_FILE, str(folder))).read_text())
    except (MlflowException, OSError, ValueError) as exc:
        raise RebuildError(f"parent run {parent[:8]} logged no {OVERRIDES_FILE}: cannot rebuild its trials "
                           "from the local config") from exc
    overrides = data.get("base_overrides") if isinstance(data, dict) else None
    if not isinstance(overrides, list) or not all(isinstance(o, str) for o in overrides):
        raise RebuildError(f"parent run {parent[:8]}: {OVERRIDES_FILE} is not a list of override strings")
    return overrides


def swept_overrides(tags: Mapping[str, str]) -> list[str]:
    """A child run's sampled values (its ``sweep.sampled`` tag) as override strings."""
    try:
        sampled = json.loads(tags.get(SAMPLED_TAG, "{}"))
    except ValueError as exc:
        raise RebuildError(f"the run's {SAMPLED_TAG} tag is not JSON") from exc
    if not isinstance(sampled, dict):
        raise RebuildError(f"the run's {SAMPLED_TAG} tag is not a mapping")
    return [f"{key}={value}" for key, value in sorted(sampled.items())]


def check_override(text: str) -> None:
    """Refuse an override that names a Hydra special key or the ``hydra`` node, in its key or value."""
    try:
        override = _parser.parse_override(text)
    except HydraException as exc:
        raise RebuildError(f"logged override {text!r} does not parse") from exc
    parts = override.get_key_element().lstrip("+~").replace("@", ".").replace("/", ".").split(".")
    if parts[0] == "hydra" or any(_SPECIAL.match(p) for p in parts) or _has_special_key(override.value()):
        raise RebuildError(f"logged override {text!r} sets a Hydra special key: refused (artifacts are "
                           "data, a trial is rebuilt from the local config only)")


def _has_special_key(value: Any) -> bool:
    if isinstance(value, dict | DictConfig):
        return any(_SPECIAL.match(str(k)) or _has_special_key(v) for k, v in value.items())
    if isinstance(value, list | ListConfig):
        return any(_has_special_key(v) for v in value)
    return False


def rebuild_config(base: list[str], swept: list[str], config_dir: str | Path = CONFIG_DIR) -> DictConfig:
    """The trial's config composed from the local tree; every override and target checked."""
    for override in [*base, *swept]:
        check_override(override)
    try:
        cfg = resolve(compose_config([*base, *swept], config_dir))
    except SweepConfigError as exc:
        raise RebuildError(f"the logged overrides do not compose with the local config: {exc}") from exc
    known = tree_targets(str(Path(config_dir).resolve()))
    for path, target in config_targets(cfg):
        if target not in known:
            raise RebuildError(f"{path}._target_={target!r} is not declared in the local config tree: refused")
    return cfg


@cache
def tree_targets(config_dir: str) -> frozenset[str]:
    """Every ``_target_`` value the YAML files of the local config tree declare."""
    found: set[str] = set()
    for path in Path(config_dir).rglob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            found.update(target for _, target in config_targets(doc))
    return frozenset(found)


def check_artifact(config_text: str, cfg: DictConfig, run: str) -> None:
    """The run's logged ``config.yaml`` (parsed as YAML data) names no ``_target_`` the rebuilt
    config lacks; otherwise the run was tampered with and is refused."""
    try:
        logged = yaml.safe_load(config_text)
    except yaml.YAMLError as exc:
        raise RebuildError(f"run {run[:8]}: its config.yaml is not YAML") from exc
    rebuilt = dict(config_targets(cfg))
    for path, target in config_targets(logged):
        if rebuilt.get(path) != target:
            raise RebuildError(
                f"run {run[:8]}: its config.yaml names {path}._target_={target!r}, but its logged "
                f"overrides compose to {rebuilt.get(path)!r}: refusing a tampered run"
            )
