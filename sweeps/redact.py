"""Masking secrets in everything a sweep writes down: logged configs, overrides, the command line.

A config key is secret when one of its words (split at ``.``, ``_``, ``-`` and camelCase) is in
the redaction list (``tracking.redact``; e.g. ``db.password``, ``aws_secret_access_key``,
``apiToken``). Only what is LOGGED is masked: trials still receive the real overrides (through Ray's
object store, never through the Tune ``param_space``), so a secret reaches the task that needs it.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig, ListConfig, OmegaConf

from sweeps.errors import SweepConfigError

MASK = "***"
DEFAULT_WORDS = ("password", "passwd", "secret", "token", "key", "apikey", "credential", "credentials")
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_parser = OverridesParser.create()


def redaction_words(cfg: DictConfig) -> tuple[str, ...]:
    """``tracking.redact`` of a composed config (the default list when it is not set)."""
    words = cfg.get("tracking", {}).get("redact")
    return DEFAULT_WORDS if words is None else tuple(str(w) for w in words)


def words_of(key: str) -> set[str]:
    """The lower-case words of a key: ``db.secretAccess_key-id`` → {db, secret, access, key, id}."""
    return {w.lower() for w in _WORD.findall(str(key))}


def is_secret(key: str, words: Iterable[str] = DEFAULT_WORDS) -> bool:
    return not words_of(key).isdisjoint(w.lower() for w in words)


def redact_config(cfg: DictConfig, words: Iterable[str] = DEFAULT_WORDS) -> DictConfig:
    """A copy of ``cfg`` whose secret keys (at any depth) hold ``***`` instead of their value."""
    words = tuple(words)
    container = OmegaConf.to_container(cfg, resolve=False)
    return OmegaConf.create(_redact_node(container, words))


def _redact_node(node: object, words: tuple[str, ...]) -> object:
    if isinstance(node, dict):
        return {k: MASK if is_secret(str(k), words) else _redact_node(v, words) for k, v in node.items()}
    if isinstance(node, list):
        return [_redact_node(v, words) for v in node]
    return node


def redact_override(override: str, words: Iterable[str] = DEFAULT_WORDS) -> str:
    """``+db.password=hunter2`` → ``+db.password=***``; ``+db={password: x}`` → ``+db=***``."""
    if "=" not in override:
        return override
    key, value = override.split("=", 1)
    words = tuple(words)
    if is_secret(key, words) or _value_has_secret(override, words):
        return f"{key}={MASK}"
    return f"{key}={value}"


def _value_has_secret(override: str, words: tuple[str, ...]) -> bool:
    try:
        value = _parser.parse_override(override).value()
    except HydraException:
        return False
    return _has_secret_key(value, words)


def _has_secret_key(value: object, words: tuple[str, ...]) -> bool:
    if isinstance(value, dict | DictConfig):
        return any(is_secret(str(k), words) or _has_secret_key(v, words) for k, v in value.items())
    if isinstance(value, list | ListConfig):
        return any(_has_secret_key(v, words) for v in value)
    return False


def redact_overrides(overrides: Iterable[str], words: Iterable[str] = DEFAULT_WORDS) -> list[str]:
    words = tuple(words)
    return [redact_override(o, words) for o in overrides]


def redact_command(command: str, words: Iterable[str] = DEFAULT_WORDS) -> str:
    """A shell command line with every secret override masked (quoting kept shell-safe)."""
    try:
        parts = shlex.split(command)
    except ValueError:
        return MASK  # unparsable: log nothing rather than a possible secret
    return " ".join(shlex.quote(redact_override(p, words)) for p in parts)


def check_space(space: Iterable[str], words: Iterable[str] = DEFAULT_WORDS) -> None:
    """A secret must never be a search-space axis: Tune writes its values to its own state files."""
    words = tuple(words)
    for key in space:
        if is_secret(key, words):
            raise SweepConfigError(
                f"sweep.space.{key}: a secret (matches tracking.redact) cannot be swept; "
                "pass it as a plain override"
            )
