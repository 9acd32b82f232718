"""Milliseconds of the driver's MLflow callback per reported result, on the SQLite store and on a
real `mlflow server` on 127.0.0.1 (the goal: <= 5 ms a result, every metric present afterwards).

    python bench/callback_latency.py [--results 200]

Tune calls the callback inside its event loop, so this time is time the loop does not schedule
trials. Prints the load average first, then the median and 95th percentile per result for each
store, and checks that every result reached MLflow.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import tempfile
import time
from pathlib import Path

from mlflow import MlflowClient
from ray.tune.experiment import Trial

from sweeps.tracking import MLflowTracking
from tests.servers import start_mlflow_server, stop_server


def per_result_ms(uri: str, results: int) -> list[float]:
    tracking = MLflowTracking(uri)
    tracking.start_sweep("latency", tags={})
    trial = Trial("run_trial", config={"optim.lr": 0.01, "seed": 0}, trial_id="t_00000", stub=True)
    tracking.on_trial_start(0, [trial], trial)
    times = []
    for epoch in range(results):
        start = time.perf_counter()
        tracking.on_trial_result(0, [trial], trial, {"epoch": epoch, "val_acc": 0.5, "val_loss": 1.0})
        times.append((time.perf_counter() - start) * 1000)
    tracking.flush(timeout=60)
    (child,) = MlflowClient(uri).search_runs([tracking.experiment_id], filter_string="tags.`ray.trial_id` = 't_00000'")
    logged = len(MlflowClient(uri).get_metric_history(child.info.run_id, "val_acc"))
    assert logged == results, f"{logged} of {results} results reached MLflow"
    tracking.end_sweep("FINISHED")
    return times


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, seconds: float = 60) -> None:
    import requests

    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if requests.get(f"{url}/health", timeout=1).ok:
                return
        except requests.RequestException:
            time.sleep(0.5)
    raise RuntimeError(f"mlflow server at {url} did not come up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=int, default=200)
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as folder:
        stores = {"sqlite": f"sqlite:///{folder}/mlflow.db"}
        port = _free_port()
        server = start_mlflow_server(Path(folder), port)
        try:
            stores["mlflow server"] = f"http://127.0.0.1:{port}"
            _wait(stores["mlflow server"])
            for name, uri in stores.items():
                times = per_result_ms(uri, args.results)
                p95 = statistics.quantiles(times, n=20)[-1]
                print(f"{name}: median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms per result "
                      f"({args.results} results, all in MLflow; goal <= 5 ms)")
        finally:
            stop_server(server)


if __name__ == "__main__":
    main()
