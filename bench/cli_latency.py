"""CLI latency as a ratio to ``python -c "import hydra"`` (the floor for a Hydra CLI), interleaved,
3 repetitions each, medians; prints the load average first.

    python bench/cli_latency.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

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
            subprocess.run(command, capture_output=True, env={**os.environ, "PYTHONPATH": "."}, check=False)
            times[name].append(time.perf_counter() - start)
    floor = statistics.median(times["import hydra"])
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<14} {median:6.2f} s  ratio {median / floor:5.1f}")


if __name__ == "__main__":
    main()
