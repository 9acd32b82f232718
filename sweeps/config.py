"""Composing a study's config with Hydra's compose API, the same way in the driver and in trials."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from sweeps.analysis.settings import register_schema
from sweeps.errors import SweepConfigError

CONFIG_DIR = Path(__file__).resolve().parent.parent / "conf"
CONFIG_NAME = "sweep"


def compose_config(overrides: list[str], config_dir: str | Path = CONFIG_DIR) -> DictConfig:
    """Compose ``conf/sweep.yaml`` with Hydra overrides (plain strings, exactly as typed)."""
    register_schema()
    try:
        with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
            return compose(config_name=CONFIG_NAME, overrides=list(overrides))
    except (HydraException, OmegaConfBaseException, yaml.YAMLError, ValueError) as exc:
        # ValueError: Hydra's own check of a group override's value type (a number as an option)
        raise SweepConfigError(_first_line(exc)) from exc


def trial_config(base_overrides: list[str], sampled: dict[str, Any]) -> DictConfig:
    """The full config of one trial: the sweep's plain overrides plus the trial's sampled values."""
    from sweeps.space import trial_overrides

    return resolve(compose_config([*base_overrides, *trial_overrides(sampled)]))


def resolve(cfg: DictConfig) -> DictConfig:
    """Resolve every interpolation, reporting a missing mandatory value (``???``) as a config error."""
    try:
        OmegaConf.resolve(cfg)
        missing = sorted(OmegaConf.missing_keys(cfg))
    except OmegaConfBaseException as exc:
        raise SweepConfigError(_first_line(exc)) from exc
    if missing:
        raise SweepConfigError(f"missing mandatory value: {', '.join(missing)} (set it on the command line)")
    return cfg


def config_targets(node: object, path: str = "") -> list[tuple[str, str]]:
    """(dotted path, ``_target_``) of every node that names one, in a config or plain YAML data."""
    found = []
    if isinstance(node, Mapping):
        if "_target_" in node:
            found.append((path or "<root>", str(node["_target_"])))
        for key in node:
            found.extend(config_targets(node[key], f"{path}.{key}" if path else str(key)))
    elif isinstance(node, list | ListConfig):
        for index, item in enumerate(node):
            found.extend(config_targets(item, f"{path}[{index}]"))
    return found


def _first_line(exc: BaseException) -> str:
    """Hydra's message as one line: its first paragraph, plus the available options if listed."""
    paragraphs = [p for p in str(exc).strip().split("\n\n") if p.strip()]
    if not paragraphs:
        return type(exc).__name__
    parts = [paragraphs[0]]
    parts += [p.split("\nConfig search path")[0] for p in paragraphs[1:] if p.startswith("Available options")]
    return " ".join(" ".join(part.split()) for part in parts)
