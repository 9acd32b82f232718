"""CLI latency as a ratio to ``python -c "import hydra"`` (the floor for a Hydra CLI), interleaved,
3 repetitions each, medians; prints the load average first. Each command must exit as it should
(0, except the bad override: 2), else the figure would time a crash.

    python bench/cli_latency.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.results import record  # noqa: E402

EXPECTED_EXIT = {"bad override": 2}
CASES = {
    "import hydra": [sys.executable, "-c", "import hydra"],
    "--help": [sys.executable, "sweep.py", "--help"],
    "bad override": [sys.executable, "sweep.py", "+experiment=smoke", "optim.lrr=1"],
    "--dry-run": [sys.executable, "sweep.py", "+experiment=smoke", "--dry-run", "paths.output_dir=/tmp/cli-bench"],
}


def main() -> None:
    print(f"load average at start: {os.getloadavg()}")
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(3):
        for name, command in CASES.items():
            start = time.perf_counter()
            done = subprocess.run(command, capture_output=True, env={**os.environ, "PYTHONPATH": "."}, check=False)
            times[name].append(time.perf_counter() - start)
            if done.returncode != EXPECTED_EXIT.get(name, 0):
                raise SystemExit(f"{name}: exit {done.returncode}, expected {EXPECTED_EXIT.get(name, 0)}: "
                                 f"{done.stderr.decode()[-500:]}")
    floor = statistics.median(times["import hydra"])
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<14} {median:6.2f} s  ratio {median / floor:5.1f}")
        if name != "import hydra":  # each repetition's ratio to the floor of the same repetition
            ratios = [v / f for v, f in zip(values, times["import hydra"], strict=True)]
            record(f"CLI `{name}` / `python -c \"import hydra\"`", statistics.median(ratios), "x", "",
                   {"command": CASES[name][1:], "repetitions": 3}, ratios)


if __name__ == "__main__":
    main()
