"""The driver's MLflow writes leave Tune's callback: one writer thread writes them in order, every
write counted. Against a real SQLite store, and a real ``mlflow server`` on loopback that is
stopped and started again on the same port and store: the writes made while it is down wait in the
queue, one warning says so, they are retried with exponential backoff and written in order when it
answers again; none is lost."""

from __future__ import annotations

import re
import threading

import pytest
from mlflow import MlflowClient
from ray.tune.experiment import Trial

from sweeps.tracking import MLflowTracking, TrackingUnavailable
from sweeps.write_queue import StoreFull, WriteQueue, queue_for
from tests.servers import free_port, start_mlflow_server, stop_server, wait_for_http


@pytest.fixture
def outage(short_tmp):
    """(url, stop, start): a real MLflow server that the test can stop and start again."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    servers = []

    def start() -> None:
        servers.append(start_mlflow_server(short_tmp, port))
        wait_for_http(f"{url}/health", servers[-1])

    def stop() -> None:
        stop_server(servers.pop())

    start()
    yield url, stop, start
    for server in servers:
        stop_server(server)


def _warnings(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if "MLflow server" in line]


def test_a_trial_reported_during_an_outage_reaches_its_child_run_in_order(outage, capsys):
    url, stop, start = outage
    tracking = MLflowTracking(url)
    queue = queue_for(url)
    queue.first_delay_s, queue.max_delay_s = 0.2, 0.8
    parent = tracking.start_sweep("outage-sweep", tags={})
    trial = Trial("run_trial", config={"optim.lr": 0.01, "seed": 0}, trial_id="t_00000", stub=True)
    tracking.on_trial_start(0, [trial], trial)  # creates the child run while the server answers
    tracking.flush(timeout=60)
    stop()
    for epoch in range(3):
        tracking.on_trial_result(0, [trial], trial, {"epoch": epoch, "val_acc": 0.5 + epoch / 10})
    trial.run_metadata.last_result = {"val_acc": 0.7, "final": 1.0}
    tracking.on_trial_complete(0, [trial], trial)
    assert queue.pending() == 4, "the callbacks returned without waiting for the server"
    while len(queue.delays) < 5:
        queue.flush(0.1)
    assert queue.delays[:5] == [0.2, 0.4, 0.8, 0.8, 0.8], "exponential backoff, capped"
    (warning,) = _warnings(capsys)
    assert re.fullmatch(rf"warning: MLflow server {url} unreachable; [1-4] writes queued, retrying", warning)
    assert queue.pending() == 4, "nothing is written, or dropped, while the server is down"
    with pytest.raises(TrackingUnavailable, match="4 writes of this sweep are not recorded"):
        tracking.flush(timeout=0.5)  # what ends a sweep whose server stays down (exit code 3)

    start()
    tracking.flush(timeout=120)
    assert _warnings(capsys) == [f"MLflow server {url} answers again; writing 4 queued writes"]
    assert queue.unrecorded() is None and queue.sent == queue.acknowledged == 5
    client = MlflowClient(url)
    (child,) = client.search_runs([tracking.experiment_id], filter_string=f"tags.`sweep.run` = '{parent}'")
    assert child.data.tags["ray.trial_id"] == "t_00000"
    history = client.get_metric_history(child.info.run_id, "val_acc")
    assert sorted(m.step for m in history) == [1, 2, 3], "every epoch once: none lost, none twice"
    assert child.info.status == "FINISHED", "the trial's end is written after its results"


def test_a_full_disk_is_told_apart_from_other_errors():
    import errno

    from sweeps.write_queue import is_store_full

    wrapped = RuntimeError("write failed")
    wrapped.__cause__ = OSError(errno.ENOSPC, "No space left on device")
    assert is_store_full(wrapped)
    assert is_store_full(RuntimeError("(sqlite3.OperationalError) database or disk is full"))
    assert not is_store_full(OSError(errno.EACCES, "Permission denied"))


def test_a_callback_returns_before_its_write_and_the_writer_keeps_the_order():
    queue = WriteQueue("sqlite:///unused.db")
    may_write, written = threading.Event(), []
    queue.submit(lambda: (may_write.wait(30), written.append(0)))
    for i in range(1, 5):
        queue.submit(lambda i=i: written.append(i))
    assert queue.pending() == 5 and written == [], "submit only queues"
    may_write.set()
    assert queue.close(timeout=30) == 0
    assert written == [0, 1, 2, 3, 4]
    assert queue.sent == queue.acknowledged == 5 and queue.unrecorded() is None


def test_every_result_reaches_mlflow_before_tune_saves_its_state(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    tracking = MLflowTracking(uri)
    tracking.start_sweep("async", tags={})
    trial = Trial("run_trial", config={"optim.lr": 0.01, "seed": 0}, trial_id="t_00000", stub=True)
    tracking.on_trial_start(0, [trial], trial)
    for epoch in range(20):
        tracking.on_trial_result(0, [trial], trial, {"epoch": epoch, "val_acc": epoch / 20, "val_loss": 1.0})
    tracking.get_state()  # what Tune calls before a snapshot of its state becomes the one a resume reads
    assert tracking.queue.pending() == 0
    client = MlflowClient(uri)
    (child,) = client.search_runs([tracking.experiment_id], filter_string="tags.`ray.trial_id` = 't_00000'")
    history = client.get_metric_history(child.info.run_id, "val_acc")
    assert [(m.step, m.value) for m in history] == [(e + 1, e / 20) for e in range(20)]
    assert tracking.queue.sent == tracking.queue.acknowledged == 21
    tracking.end_sweep("FINISHED")
    assert client.get_run(child.info.run_id).info.status == "KILLED", "a trial left running is closed"


def test_a_failed_write_is_counted_and_reported(tmp_path, capsys):
    tracking = MLflowTracking(f"sqlite:///{tmp_path}/mlflow.db")
    tracking.start_sweep("lost", tags={})

    def bad() -> None:
        raise ValueError("no such run")

    tracking.queue.submit(bad)
    tracking.queue.submit(lambda: None)
    tracking.end_sweep("FINISHED")
    err = capsys.readouterr().err
    assert "warning: an MLflow write failed and is dropped (ValueError: no such run)" in err
    assert "warning: 1 of 2 MLflow writes of this sweep are not recorded; dropped: ValueError: no such run" in err


def test_a_full_store_stops_the_writer_and_the_next_callback_raises(tmp_path):
    queue = WriteQueue(f"sqlite:///{tmp_path}/mlflow.db")

    queued = threading.Event()

    def full() -> None:
        queued.wait(10)  # the disk fills up once the second write is queued behind this one
        raise RuntimeError("(sqlite3.OperationalError) database or disk is full")

    queue.submit(full)
    queue.submit(lambda: None)
    queued.set()
    assert queue.flush(timeout=30) == 2, "nothing after a full disk is written, nothing is dropped"
    with pytest.raises(StoreFull):
        queue.submit(lambda: None)
    assert queue.unrecorded() == "2 of 2 MLflow writes of this sweep are not recorded"
