"""The driver's writes to an MLflow server, kept through an outage: queued, retried, in order.

While the server answers, a write runs at once (as it would without this queue). A write that fails
with a connection error waits in the queue with every write after it; a background thread retries
the oldest with exponential backoff and, once the server answers again, writes them all in the
order they came. One warning line says that the server is unreachable, one that it answers again.

A request fails fast here: MLflow's own client retries a refused connection for minutes
(``MLFLOW_HTTP_REQUEST_MAX_RETRIES``, backoff factor 2), blocking Tune's event loop without a word,
so the queue's writes run with no client-side retry and a 5-s timeout (unless the user set them).
"""

from __future__ import annotations

import errno
import logging
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

import requests

FAST_FAILURE = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"}
_queues: dict[str, WriteQueue] = {}


def queue_for(uri: str) -> WriteQueue:
    """The driver's one queue per tracking URI: a resumed sweep's Tune callback (unpickled from
    Tune's state) and the runner's own tracking object write through the same queue."""
    if uri not in _queues:
        # MLflow's SQL store logs every database error with its traceback before raising it; the
        # queue raises it too (a full disk: one `error:` line, exit 3), so the log is noise
        logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)
        _queues[uri] = WriteQueue(uri)
    return _queues[uri]


def is_connection_error(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it wraps: MLflow re-raises a request's failure as an
    ``MlflowException`` that only chains it) is a refused, reset or timed-out connection, or a
    proxy's 5xx answers (``RetryError``) while the server restarts."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout
                      | requests.exceptions.RetryError | ConnectionError | TimeoutError):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


class StoreFull(OSError):
    """The MLflow store's disk is full: an infrastructure failure (exit 3), not a write to drop."""


def is_store_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it wraps) says the disk is full: ``ENOSPC``, or SQLite's "database
    or disk is full", which MLflow re-raises as an ``MlflowException``."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            return True
        if "database or disk is full" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


class WriteQueue:
    """In-order writes to one MLflow store that survive an outage of its server (see the module)."""

    def __init__(self, uri: str, first_delay_s: float = 0.5, max_delay_s: float = 30.0,
                 out: TextIO | None = None) -> None:
        self.uri = uri
        self.first_delay_s, self.max_delay_s = first_delay_s, max_delay_s
        self.out = out
        self.delays: list[float] = []  # the backoff of the current (or last) outage, for the record
        self._pending: deque[Callable[[], None]] = deque()
        self._lock = threading.Lock()  # guards _pending and _retrying
        self._writing = threading.Lock()  # one write at a time: the submitter's or the retrier's
        self._retrying: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()
        self.full: StoreFull | None = None  # set when the store's disk filled up (Tune hides the type)

    def submit(self, write: Callable[[], None]) -> None:
        """Run ``write`` now, or queue it behind earlier writes that wait for the server. An error
        other than a lost connection is raised as before."""
        with self._lock:
            if self._pending:
                self._pending.append(write)
                return
            try:
                self._run(write)
            except Exception as exc:
                if is_store_full(exc):
                    self.full = StoreFull(errno.ENOSPC, f"the MLflow store {self.uri} is full")
                    raise self.full from exc
                if not is_connection_error(exc):
                    raise
                self._pending.append(write)
                self._start_retrying()

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def flush(self, timeout: float | None = None) -> int:
        """Wait until every queued write is written (or ``timeout`` s pass); returns how many are left."""
        self._idle.wait(timeout)
        return self.pending()

    def _start_retrying(self) -> None:
        self._idle.clear()
        self.delays = []
        self._say(f"warning: MLflow server {self.uri} unreachable; {len(self._pending)} writes queued, retrying")
        self._retrying = threading.Thread(target=self._retry, name="mlflow-write-queue", daemon=True)
        self._retrying.start()

    def _retry(self) -> None:
        delay, written = self.first_delay_s, 0
        while True:
            self.delays.append(delay)
            time.sleep(delay)
            ok, written = self._drain(written)
            if ok:
                self._say(f"MLflow server {self.uri} answers again; {written} queued writes written")
                return
            delay = min(delay * 2, self.max_delay_s)

    def _drain(self, written: int) -> tuple[bool, int]:
        """Write the queue in order; stop at the first lost connection. Returns (emptied, written)."""
        while True:
            with self._lock:
                if not self._pending:
                    self._retrying = None
                    self._idle.set()
                    return True, written
                write = self._pending[0]
            try:
                self._run(write)
            except Exception as exc:  # noqa: BLE001 - a write that cannot succeed must not block the rest
                if is_connection_error(exc):
                    return False, written
                self._say(f"warning: an MLflow write failed and is dropped ({type(exc).__name__}: {exc})")
            with self._lock:
                self._pending.popleft()
            written += 1

    def _run(self, write: Callable[[], None]) -> None:
        if not self.uri.startswith(("http://", "https://")):
            write()
            return
        with self._writing, _fast_failure():
            write()

    def _say(self, line: str) -> None:
        print(line, file=self.out or sys.stderr, flush=True)


@contextmanager
def _fast_failure() -> Iterator[None]:
    """MLflow's HTTP client without retries and with a short timeout, unless the user set them."""
    added = [key for key in FAST_FAILURE if key not in os.environ]
    os.environ.update({key: FAST_FAILURE[key] for key in added})
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)
