"""The peers of the platform in the orchestration benchmark, each running the same trials:

    python bench/peers.py loop --trials 8 --out T.json [overrides]   # one process, one trial after another
    python bench/peers.py loop --trials 8 --part 0/2 --out T.json    # every second trial from the first
    python bench/peers.py ray --trials 8 --out T.json [overrides]    # plain Ray Tune + Ray's MLflowLoggerCallback

A trial is the platform's own task (``sweeps.execute.execute``: compose the config, seed, train, evaluate)
for one design and seed of ``trial_designs``, the grid the platform's sweep runs. Each peer writes
``{"trial_s": [...], "wall_s": ...}`` to ``--out``: the seconds of every trial's compute (config
composition through the final evaluation, timed inside the process that ran it).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

LRS = (0.01, 0.003, 0.001, 0.0003)
HIDDEN = (16, 32, 64, 128)
CHECKPOINT_FILE = "checkpoint"


def grid(trials: int) -> tuple[tuple[float, ...], tuple[int, ...], tuple[int, ...]]:
    """(learning rates, widths, seeds) of ``trials`` trials: up to 4 x 4 designs, then more seeds."""
    hidden = HIDDEN[: min(trials, len(HIDDEN))]
    lrs = LRS[: max(1, min(len(LRS), trials // len(hidden)))]
    seeds = tuple(range(max(1, trials // (len(lrs) * len(hidden)))))
    if len(lrs) * len(hidden) * len(seeds) != trials:
        raise SystemExit(f"--trials {trials}: not a grid of widths x learning rates x seeds (use 4, 8, 16 x k)")
    return lrs, hidden, seeds


def trial_designs(trials: int) -> list[dict[str, Any]]:
    """The sampled values of ``trials`` trials, as the platform's sweep samples them."""
    lrs, hidden, seeds = grid(trials)
    return [{"optim.lr": lr, "model.hidden": h, "seed": s} for lr in lrs for h in hidden for s in seeds]


def platform_space(trials: int) -> list[str]:
    """The platform's overrides for the same grid."""
    lrs, hidden, seeds = grid(trials)
    return [f"sweep.space.optim.lr=choice({','.join(map(str, lrs))})",
            f"sweep.space.model.hidden=choice({','.join(map(str, hidden))})",
            f"sweep.seeds=[{','.join(map(str, seeds))}]"]


def hydra_sweep(trials: int) -> list[str]:
    """Hydra ``--multirun`` overrides for the same grid."""
    lrs, hidden, seeds = grid(trials)
    return [f"optim.lr={','.join(map(str, lrs))}", f"model.hidden={','.join(map(str, hidden))}",
            f"seed={','.join(map(str, seeds))}"]


def train(overrides: list[str], sampled: dict[str, Any], callbacks: list | None = None) -> dict[str, float]:
    """One trial of the platform's task; returns its metrics and ``compute_s``, its seconds."""
    from sweeps.config import trial_config
    from sweeps.execute import execute

    start = time.perf_counter()
    cfg = trial_config(overrides, sampled)
    with tempfile.TemporaryDirectory(prefix="peer-") as artifacts:
        metrics = execute(cfg, sampled, callbacks or [], Path(artifacts), None, CHECKPOINT_FILE)
    return {**metrics, "compute_s": time.perf_counter() - start}


def part_of(text: str) -> tuple[int, int]:
    """``k/n`` (0 <= k < n) as (k, n); anything else is an argparse error line."""
    try:
        index, parts = map(int, text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--part must be k/n, got {text!r}") from None
    if not 0 <= index < parts:
        raise argparse.ArgumentTypeError(f"--part k/n needs 0 <= k < n, got {text!r}")
    return index, parts


def run_loop(trials: int, overrides: list[str], part: tuple[int, int] = (0, 1)) -> list[float]:
    """The trials one after another; with ``part`` (k, n), every n-th trial from the k-th only."""
    index, parts = part
    return [train(overrides, sampled)["compute_s"] for sampled in trial_designs(trials)[index::parts]]


def run_ray(trials: int, overrides: list[str], folder: Path, slots: int) -> list[float]:
    """Plain Ray Tune: a function trainable reporting every epoch with Ray's Lightning callback,
    Ray's ``MLflowLoggerCallback`` writing one run per trial to a SQLite store, no analysis."""
    import ray
    from ray import tune
    from ray.air.integrations.mlflow import MLflowLoggerCallback
    from ray.tune.integration.pytorch_lightning import TuneReportCheckpointCallback

    def trainable(config: dict[str, Any]) -> None:
        sampled = config["trial"]
        reporter = TuneReportCheckpointCallback(filename=CHECKPOINT_FILE, on="train_epoch_end")
        tune.report(train(overrides, sampled, [reporter]))

    ray.init(num_cpus=slots, include_dashboard=False, log_to_driver=False, _temp_dir=str(folder / "r"))
    try:
        tuner = tune.Tuner(
            trainable,
            param_space={"trial": tune.grid_search(trial_designs(trials))},
            tune_config=tune.TuneConfig(metric="val_acc", mode="max"),
            run_config=tune.RunConfig(
                storage_path=str(folder / "ray"), verbose=0,
                callbacks=[MLflowLoggerCallback(tracking_uri=f"sqlite:///{folder}/mlflow.db",
                                                experiment_name="ray-peer")]),
        )
        results = tuner.fit()
    finally:
        ray.shutdown()
    return [float(r.metrics["compute_s"]) for r in results]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("peer", choices=["loop", "ray"])
    parser.add_argument("--trials", type=int, required=True)
    parser.add_argument("--slots", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--part", type=part_of, default=(0, 1),
                        help="k/n: the loop runs every n-th trial from the k-th")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_intermixed_args()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ray-peer-", dir="/tmp") as folder:
        if args.peer == "loop":
            trial_s = run_loop(args.trials, args.overrides, args.part)
        else:
            trial_s = run_ray(args.trials, args.overrides, Path(folder), args.slots)
    args.out.write_text(json.dumps({"trial_s": trial_s, "wall_s": time.perf_counter() - start}))


if __name__ == "__main__":
    sys.exit(main())
