"""Milliseconds of the driver's MLflow callback per reported result, on the SQLite store and on a
real `mlflow server` on 127.0.0.1 (the goal: <= 5 ms a result, every metric present afterwards).

    python bench/callback_latency.py [--results 200]

Tune calls the callback inside its event loop, so this time is time the loop does not schedule
trials. The writes themselves run on the tracking's writer thread (sweeps/write_queue.py); their
time per result is shown beside the callback's, from the same run (stores in turn, 3 repetitions,
medians). Every result is checked present in MLflow afterwards, and every write acknowledged.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from mlflow import MlflowClient
from ray.tune.experiment import Trial

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.results import interleaved, median, record  # noqa: E402
from sweeps.local_mlflow import mlflow_server  # noqa: E402
from sweeps.tracking import MLflowTracking  # noqa: E402


def per_result_ms(uri: str, results: int) -> tuple[list[float], float]:
    """(the callback's milliseconds for each result, the writer's milliseconds per result)."""
    tracking = MLflowTracking(uri)
    tracking.start_sweep("latency", tags={})
    trial = Trial("run_trial", config={"optim.lr": 0.01, "seed": 0}, trial_id="t_00000", stub=True)
    tracking.on_trial_start(0, [trial], trial)
    tracking.flush(timeout=60)  # the child run exists: what follows is the results alone
    times = []
    start = time.perf_counter()
    for epoch in range(results):
        begin = time.perf_counter()
        tracking.on_trial_result(0, [trial], trial, {"epoch": epoch, "val_acc": 0.5, "val_loss": 1.0})
        times.append((time.perf_counter() - begin) * 1000)
    tracking.flush(timeout=600)
    written_ms = (time.perf_counter() - start) * 1000 / results
    client = MlflowClient(uri)
    children = client.search_runs([tracking.experiment_id], filter_string="tags.`ray.trial_id` = 't_00000'",
                                  order_by=["attributes.start_time DESC"], max_results=1)
    for key in ("val_acc", "val_loss"):
        logged = len(client.get_metric_history(children[0].info.run_id, key))
        assert logged == results, f"{logged} of {results} results of {key} reached MLflow"
    tracking.end_sweep("FINISHED")
    assert tracking.queue.unrecorded() is None, tracking.queue.unrecorded()
    return times, written_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=int, default=200)
    parser.add_argument("--repetitions", type=int, default=3)
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as folder, mlflow_server(Path(folder)) as url:
        stores = {"SQLite": f"sqlite:///{folder}/mlflow.db", "mlflow server": url}
        runs = interleaved({name: lambda uri=uri: per_result_ms(uri, args.results) for name, uri in stores.items()},
                           args.repetitions)
    inputs = {"results": args.results, "metrics_per_result": 2, "repetitions": args.repetitions}
    for name, reps in runs.items():
        callback = [statistics.median(times) for times, _ in reps]
        p95 = [statistics.quantiles(times, n=20)[-1] for times, _ in reps]
        written = [w for _, w in reps]
        record(f"MLflow callback per result, {name} (median)", median(callback), "ms", "≤ 5 ms", inputs, callback)
        record(f"MLflow callback per result, {name} (p95)", median(p95), "ms", "", inputs, p95)
        record(f"MLflow write per result on the writer thread, {name}", median(written), "ms", "", inputs, written)


if __name__ == "__main__":
    main()
