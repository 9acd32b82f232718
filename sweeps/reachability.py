"""Before Ray starts: the tracking server and the Ray cluster named in the config answer."""

from __future__ import annotations

import socket
import urllib.error
import urllib.parse
import urllib.request

from omegaconf import DictConfig

from sweeps.errors import SweepConfigError

TIMEOUT_S = 5.0


def check_reachable(cfg: DictConfig) -> None:
    """``tracking.uri`` (an http server) and ``cluster.address`` (``ray://host:port`` or
    ``host:port``) each answer within a few seconds; else one SweepConfigError naming it."""
    uri = str(cfg.tracking.get("uri") or "")
    if uri.startswith(("http://", "https://")):
        try:
            urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=TIMEOUT_S).close()
        except urllib.error.HTTPError:
            pass  # it answered (e.g. 401 behind basic auth): reachable
        except (OSError, ValueError) as exc:
            raise SweepConfigError(f"tracking.uri {uri} does not answer within {TIMEOUT_S:g} s ({_reason(exc)})") from None
    address = str(cfg.cluster.get("address") or "") if "cluster" in cfg else ""
    if address and address not in ("auto", "local"):
        parsed = urllib.parse.urlsplit(address if "://" in address else f"ray://{address}")
        try:
            socket.create_connection((parsed.hostname, parsed.port or 10001), timeout=TIMEOUT_S).close()
        except (OSError, ValueError) as exc:
            raise SweepConfigError(
                f"cluster.address {address} does not answer within {TIMEOUT_S:g} s ({_reason(exc)})"
            ) from None


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or exc
    return str(reason).strip().splitlines()[0] if str(reason).strip() else type(exc).__name__
