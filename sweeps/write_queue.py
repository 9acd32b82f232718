"""The driver's MLflow writes, off Tune's event loop: one writer thread, a bounded queue, in order.

Tune calls its callbacks on its event loop, so a callback that writes to MLflow itself (one
``log_batch`` per result) holds the loop for the write's round trip to the store, time in which it
schedules no trial. Here the callback only queues a write; one writer thread per tracking URI writes the
queue in the order it came (so in order per run), and the driver waits for it (``flush``) before the
report, at the end of a sweep, on Ctrl-C and on errors, and before Tune saves its own state (a
killed driver's resume must not find Tune ahead of MLflow). It counts the writes sent and
acknowledged: a write that fails for good is reported, never silently lost.

MLflow's own asynchronous logging (``log_batch(..., synchronous=False)``) covers metrics, params
and tags only; a trial's child run is created, given files and closed too, and those writes must
stay in order with its metrics, so one queue carries them all.

During an outage of an MLflow server the oldest write waits at the head of the queue, retried with
exponential backoff, every later write behind it; one warning line says that the server is
unreachable, one that it answers again. A full store disk stops the writer; the next callback (or
``flush``) raises ``StoreFull``, which the CLI turns into exit 3.

A request fails fast here: MLflow's own client retries a refused connection for minutes
(``MLFLOW_HTTP_REQUEST_MAX_RETRIES``, backoff factor 2) without a word, so the queue's writes run
with no client-side retry and a 5-s timeout (unless the user set them).
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
MAX_PENDING = 100_000  # writes queued before a callback waits: far more than an outage of minutes holds
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
    """Whether ``exc`` (or what it wraps) says the disk is full: ``ENOSPC``, its text as a Ray task
    error carries it from a trial's process, or SQLite's "database or disk is full", which MLflow
    re-raises as an ``MlflowException``."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            return True
        if any(text in str(exc) for text in ("database or disk is full", os.strerror(errno.ENOSPC))):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


class TrackingUnavailable(OSError):
    """The MLflow server stayed unreachable: an infrastructure failure (exit code 3), not bad input."""


class WriteQueue:
    """In-order MLflow writes to one store by one writer thread, kept through an outage (see the module)."""

    def __init__(self, uri: str, first_delay_s: float = 0.5, max_delay_s: float = 30.0,
                 out: TextIO | None = None, max_pending: int = MAX_PENDING) -> None:
        self.uri = uri
        self.first_delay_s, self.max_delay_s = first_delay_s, max_delay_s
        self.out = out
        self.max_pending = max_pending
        self.delays: list[float] = []  # the backoff of the current (or last) outage, for the record
        self.sent = self.acknowledged = 0  # writes queued / written, since ``reset_counts``
        self.dropped: list[str] = []  # writes that failed for good (not a lost connection), as text
        self.full: StoreFull | None = None  # set when the store's disk filled up (Tune hides the type)
        self.outage = False  # the server is unreachable: the head write waits for it
        self._pending: deque[Callable[[], None]] = deque()  # the head stays until it is written
        self._changed = threading.Condition()  # guards every field above that the writer changes
        self._writer: threading.Thread | None = None
        self._closing = False  # ``close`` asked the writer to end once the queue is empty

    def submit(self, write: Callable[[], None]) -> None:
        """Queue ``write`` behind the earlier ones and return at once (the callback's only cost). Waits
        only while the queue holds ``max_pending`` writes (a long outage); raises ``StoreFull`` once
        the store's disk is full."""
        with self._changed:
            if self.full is not None:
                raise self.full
            while len(self._pending) >= self.max_pending and self.full is None:
                self._changed.wait(1.0)
            self._pending.append(write)
            self.sent += 1
            self._changed.notify_all()
            if self._writer is None:
                self._closing = False
                self._writer = threading.Thread(target=self._write_all, name="mlflow-writer", daemon=True)
                self._writer.start()

    def pending(self) -> int:
        with self._changed:
            return len(self._pending)

    def flush(self, timeout: float | None = None) -> int:
        """Wait until every queued write is written (or ``timeout`` s pass, or the disk is full);
        returns how many are left."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while self._pending and self.full is None:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                self._changed.wait(left if left is not None else 1.0)
            return len(self._pending)

    def close(self, timeout: float | None = None) -> int:
        """``flush``, then end the writer thread and join it (a later ``submit`` starts a new one);
        returns the writes left unwritten (the writer keeps retrying those until the process ends)."""
        left = self.flush(timeout)
        with self._changed:
            self._closing = True
            self._changed.notify_all()
            writer = self._writer
        if writer is not None and not left:
            writer.join(timeout)
        return left

    def reset_counts(self) -> None:
        """Start counting a new sweep's writes (a resumed sweep's callback shares this queue)."""
        with self._changed:
            self.sent, self.acknowledged = len(self._pending), 0
            self.dropped = []

    def unrecorded(self) -> str | None:
        """What was sent but not acknowledged, in one line (``None`` when every write is written)."""
        with self._changed:
            missing = self.sent - self.acknowledged
            if not missing:
                return None
            detail = f"; dropped: {'; '.join(self.dropped[:3])}" if self.dropped else ""
            return f"{missing} of {self.sent} MLflow writes of this sweep are not recorded{detail}"

    def _write_all(self) -> None:
        while True:
            with self._changed:
                while not self._pending and not self._closing:
                    self._changed.wait()
                if not self._pending or self.full is not None:
                    self._writer = None
                    self._changed.notify_all()
                    return
                write = self._pending[0]
            done = self._write_one(write)
            with self._changed:
                if done is not None:  # None: the disk is full, the writes left stay unacknowledged
                    self._pending.popleft()
                    self.acknowledged += done
                self._changed.notify_all()

    def _write_one(self, write: Callable[[], None]) -> int | None:
        """Write, retrying through an outage; 1 when written, 0 when dropped, ``None`` on a full disk."""
        delay = self.first_delay_s
        while True:
            try:
                self._run(write)
            except Exception as exc:  # noqa: BLE001 - the writer thread must outlive any one write
                if is_store_full(exc):
                    with self._changed:
                        self.full = StoreFull(errno.ENOSPC, f"the MLflow store {self.uri} is full")
                    return None
                if not is_connection_error(exc):
                    text = f"{type(exc).__name__}: {exc}"
                    self._say(f"warning: an MLflow write failed and is dropped ({text})")
                    with self._changed:
                        self.dropped.append(text)
                    return 0
                if not self.outage:
                    self.outage, self.delays = True, []
                    self._say(f"warning: MLflow server {self.uri} unreachable; "
                              f"{self.pending()} writes queued, retrying")
                self.delays.append(delay)
                time.sleep(delay)
                delay = min(delay * 2, self.max_delay_s)
                continue
            if self.outage:
                self.outage = False
                self._say(f"MLflow server {self.uri} answers again; writing {self.pending()} queued writes")
            return 1

    def _run(self, write: Callable[[], None]) -> None:
        if not self.uri.startswith(("http://", "https://")):
            write()
            return
        with _fast_failure():
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
