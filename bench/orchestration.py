"""Orchestration efficiency against the peers: the same trials run by this platform, by a plain
Python loop in one process (the sequential limit), by two such loops side by side, each with half
the trials (the parallel limit: what two slots of this machine give with no orchestration), by
Hydra ``--multirun`` (basic launcher) and by plain Ray Tune with Ray's ``MLflowLoggerCallback``
(bench/peers.py, bench/hydra_peer.py).

    python bench/orchestration.py            # 8 trials vs every peer, then the platform's overhead
                                             # trend 8 -> 32 -> 128 (Ray Tune's too: --ray-sizes 8 32)
    python bench/orchestration.py --quick    # 4 tiny trials, one repetition: does it all run

Figures (each a median over repetitions that run every runner in turn):
- efficiency = sum of trial compute / (wall x slots), the compute being the sequential loop's
  trials of the same repetition (the same trainings: contention between parallel trials counts
  against the runner, as it would for a user);
- per-trial overhead = (wall x slots - compute) / trials, in seconds;
- speedup over the sequential loop;
- the platform's efficiency over the parallel limit's (1.0: the platform costs nothing beyond what
  running two trials at once costs on this machine);
- the platform's wall over plain Ray Tune's, both to the end of the trials' MLflow records (the
  platform's significance report after that is timed by its own benchmark, and shown apart).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path

from mlflow import MlflowClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.peers import hydra_sweep, platform_space  # noqa: E402
from bench.results import interleaved, median, record  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SLOTS = 2


def _env() -> dict[str, str]:
    # one intra-op thread per trial everywhere: what Ray gives a 1-CPU trial
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


def _run(command: list[str], log: Path) -> None:
    with log.open("w") as out:
        done = subprocess.run(command, cwd=ROOT, env=_env(), stdout=out, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{command[1]} exited {done.returncode}; its log: {log}\n{log.read_text()[-2000:]}")


class Runners:
    """One function per runner; each runs ``trials`` trials and returns (wall s, trials' compute s)."""

    def __init__(self, scratch: Path, task: list[str]) -> None:
        self.scratch, self.task = scratch, task

    def _folder(self, name: str) -> Path:
        return Path(tempfile.mkdtemp(prefix=name, dir=self.scratch))

    def peer(self, peer: str, trials: int) -> dict:
        folder = self._folder(peer)
        start = time.perf_counter()
        _run([sys.executable, "bench/peers.py", peer, "--trials", str(trials), "--slots", str(SLOTS),
              "--out", str(folder / "out.json"), *self.task], folder / "log.txt")
        wall = time.perf_counter() - start
        return {"wall_s": wall, "trial_s": json.loads((folder / "out.json").read_text())["trial_s"]}

    def parallel(self, trials: int) -> dict:
        """``SLOTS`` sequential loops side by side, each its share of the trials: no orchestration at
        all, so its efficiency is the most two slots of this machine give (two trials at once share
        its memory bandwidth and caches)."""
        folder = self._folder("parallel")
        with contextlib.ExitStack() as logs:
            start = time.perf_counter()
            loops = [subprocess.Popen([sys.executable, "bench/peers.py", "loop", "--trials", str(trials),
                                       "--part", f"{k}/{SLOTS}", "--out", str(folder / f"out{k}.json"), *self.task],
                                      cwd=ROOT, env=_env(), stdout=logs.enter_context((folder / f"log{k}.txt").open("w")),
                                      stderr=subprocess.STDOUT) for k in range(SLOTS)]
            codes = [loop.wait() for loop in loops]
            wall = time.perf_counter() - start
        if any(codes):
            raise SystemExit(f"a parallel loop exited {codes}; its logs: {folder}")
        trial_s = [t for k in range(SLOTS) for t in json.loads((folder / f"out{k}.json").read_text())["trial_s"]]
        return {"wall_s": wall, "trial_s": trial_s}

    def hydra(self, trials: int) -> dict:
        folder = self._folder("hydra")
        start = time.perf_counter()
        _run([sys.executable, "bench/hydra_peer.py", "-m", *self.task, *hydra_sweep(trials),
              f"hydra.sweep.dir={folder}/multirun", f"+bench.out={folder}/trials.jsonl"], folder / "log.txt")
        wall = time.perf_counter() - start
        lines = (folder / "trials.jsonl").read_text().splitlines()
        return {"wall_s": wall, "trial_s": [json.loads(line)["trial_s"] for line in lines]}

    def platform(self, trials: int) -> dict:
        """``python sweep.py``; also the wall to the end of the trials (the moment the runner logs
        ``sweep_wall_s``, before the significance report)."""
        folder = self._folder("p")
        started = time.time()
        start = time.perf_counter()
        _run([sys.executable, "sweep.py", *self.task, *platform_space(trials), f"paths.output_dir={folder}",
              "sweep.name=orch", f"cluster.num_cpus={SLOTS}", f"cluster.tmp_dir={folder}/r", "sweep.verbose=0"],
             folder / "log.txt")
        wall = time.perf_counter() - start
        client = MlflowClient(f"sqlite:///{folder}/mlflow.db")
        (parent,) = client.search_runs([client.get_experiment_by_name("orch").experiment_id],
                                       filter_string="metrics.sweep_wall_s > 0")
        (logged,) = client.get_metric_history(parent.info.run_id, "sweep_wall_s")
        return {"wall_s": logged.timestamp / 1000 - started, "wall_with_report_s": wall}


def figures(label: str, trials: int, runs: dict[str, list[dict]], compute: list[float], inputs: dict) -> None:
    """Record efficiency, overhead and speedup of every runner from per-repetition results."""
    sequential = [r["wall_s"] for r in runs["loop"]]
    for name, results in runs.items():
        slots = SLOTS if name in ("platform", "ray", "parallel") else 1
        walls = [r["wall_s"] for r in results]
        efficiency = [c / (w * slots) for c, w in zip(compute, walls, strict=True)]
        overhead = [(w * slots - c) / trials for c, w in zip(compute, walls, strict=True)]
        speedup = [s / w for s, w in zip(sequential, walls, strict=True)]
        goal = "≥ 0.85" if slots == SLOTS else ""
        record(f"{label}: {name} efficiency ({slots} slot{'s' * (slots > 1)})", median(efficiency), "",
               goal, inputs, efficiency)
        record(f"{label}: {name} overhead per trial", median(overhead), "s", "", inputs, overhead)
        if name != "loop":
            record(f"{label}: {name} speedup over the sequential loop", median(speedup), "x", "", inputs, speedup)


def efficiency_study(runners: Runners, trials: int, repetitions: int, inputs: dict, names: list[str]) -> None:
    """The runners ``names`` (the sequential loop always: its compute is the reference) on the same
    ``trials``, interleaved."""
    every = {"loop": lambda: runners.peer("loop", trials), "parallel": lambda: runners.parallel(trials),
             "hydra": lambda: runners.hydra(trials),
             "platform": lambda: runners.platform(trials), "ray": lambda: runners.peer("ray", trials)}
    runs = interleaved({name: run for name, run in every.items() if name == "loop" or name in names}, repetitions)
    compute = [sum(r["trial_s"]) for r in runs["loop"]]
    label = f"{trials} trials"
    record(f"{label}: compute per trial (sequential loop)", median([c / trials for c in compute]), "s",
           "about 15 s", inputs, [c / trials for c in compute])
    figures(label, trials, runs, compute, inputs)
    if {"platform", "parallel"} <= set(runs):
        share = [q["wall_s"] / p["wall_s"] for p, q in zip(runs["platform"], runs["parallel"], strict=True)]
        record(f"{label}: platform efficiency / the parallel limit's", median(share), "", "", inputs, share)
    if {"platform", "ray"} <= set(runs):
        _versus_ray(label, runs, inputs)


def _versus_ray(label: str, runs: dict[str, list[dict]], inputs: dict) -> None:
    ratio = [p["wall_s"] / r["wall_s"] for p, r in zip(runs["platform"], runs["ray"], strict=True)]
    record(f"{label}: platform wall / plain Ray Tune wall", median(ratio), "x", "≤ 1.05", inputs, ratio)
    report = [p["wall_with_report_s"] - p["wall_s"] for p in runs["platform"]]
    record(f"{label}: the platform's significance report after the trials", median(report), "s", "", inputs, report)


def trend_study(runners: Runners, sizes: list[int], ray_sizes: list[int], repetitions: int, inputs: dict) -> None:
    """Per-trial overhead of the platform (``sizes``) and of plain Ray Tune (``ray_sizes``) at
    growing trial counts (tiny trials); the compute per trial is the sequential loop's on the
    smallest count."""
    smallest = min(sizes)
    sizes_of = {"platform": sizes, "ray": ray_sizes}
    runs = {"loop": lambda: runners.peer("loop", smallest)}
    for n in sorted(set(sizes) | set(ray_sizes)):
        if n in sizes:
            runs[f"platform {n}"] = lambda n=n: runners.platform(n)
        if n in ray_sizes:
            runs[f"ray {n}"] = lambda n=n: runners.peer("ray", n)
    results = interleaved(runs, repetitions)
    per_trial = [sum(r["trial_s"]) / smallest for r in results["loop"]]
    record("tiny trials: compute per trial (sequential loop)", median(per_trial), "s", "", inputs, per_trial)
    for name, counts in sizes_of.items():
        spent = {n: [r["wall_s"] * SLOTS - c * n for r, c in zip(results[f"{name} {n}"], per_trial, strict=True)]
                 for n in counts}  # slot-seconds not spent on compute
        for n in counts:
            overhead = [o / n for o in spent[n]]
            record(f"tiny trials: {name} overhead per trial, {n} trials", median(overhead), "s", "", inputs, overhead)
        for low, high in pairwise(sorted(counts)):  # the start-up paid once drops out: what each more trial costs
            marginal = [(b - a) / (high - low) for a, b in zip(spent[low], spent[high], strict=True)]
            record(f"tiny trials: {name} overhead per added trial, {low} -> {high} trials", median(marginal), "s",
                   "flat" if name == "platform" else "", inputs, marginal)
    if not ray_sizes:
        return
    both = max(set(sizes) & set(ray_sizes))
    _versus_ray(f"{both} tiny trials", {"platform": results[f"platform {both}"], "ray": results[f"ray {both}"]},
                inputs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="4 tiny trials, 1 repetition")
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--runners", nargs="*", default=["parallel", "hydra", "platform", "ray"],
                        choices=["parallel", "hydra", "platform", "ray"],
                        help="runners of the efficiency study besides the sequential loop")
    parser.add_argument("--task", nargs="*", default=["trainer.max_epochs=16", "data.batch_size=2"],
                        help="overrides that size a trial of the efficiency study")
    parser.add_argument("--tiny", nargs="*", default=["trainer.max_epochs=1"], help="overrides of a tiny trial")
    parser.add_argument("--sizes", type=int, nargs="*", default=[8, 32, 128], help="trial counts of the trend")
    # Plain Ray Tune's trend is off by default: it starts a fresh worker per trial (its default), so
    # its 8 and 32 tiny trials took longer than the platform's whole trend; the platform / Ray Tune
    # ratio comes from the efficiency study. E.g. --ray-sizes 8 32
    parser.add_argument("--ray-sizes", type=int, nargs="*", default=[], help="trial counts of Ray's trend")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--trend-repetitions", type=int, help="repetitions of the trend (default: --repetitions)")
    args = parser.parse_args()
    if args.quick:
        args.trials, args.task, args.sizes, args.ray_sizes, args.repetitions = 4, args.tiny, [4, 8], [4, 8], 1
    trend_repetitions = args.trend_repetitions or args.repetitions
    if args.sizes and args.ray_sizes and not set(args.sizes) & set(args.ray_sizes):
        parser.error("--sizes and --ray-sizes must share a trial count (the platform/Ray Tune ratio)")
    print(f"load average at start: {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="orch-", dir="/tmp") as scratch:
        task = ["+experiment=smoke", *args.task]
        inputs = {"task": task, "trials": args.trials, "slots": SLOTS, "repetitions": args.repetitions}
        efficiency_study(Runners(Path(scratch), task), args.trials, args.repetitions, inputs, args.runners)
        if not args.sizes:  # --sizes with no count: no trend
            return
        tiny = ["+experiment=smoke", *args.tiny]
        inputs = {"task": tiny, "sizes": args.sizes, "ray_sizes": args.ray_sizes, "slots": SLOTS,
                  "repetitions": trend_repetitions}
        trend_study(Runners(Path(scratch), tiny), args.sizes, args.ray_sizes, trend_repetitions, inputs)


if __name__ == "__main__":
    main()
