"""The figures of one ``make bench`` run: each bench script records its ratios here, and the run ends
by writing ``bench/results/<date>-<commit>.json`` and the table in ``bench/README.md`` (between the
``bench:figures`` markers).

    record(...)                                   # from a bench script (a no-op outside `make bench`)
    python bench/results.py FIGURES.jsonl         # the end of bench/run.sh
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
README = BENCH / "README.md"
START, END = "<!-- bench:figures:start -->", "<!-- bench:figures:end -->"
RECORD_ENV = "BENCH_RECORD"  # the JSON-lines file bench/run.sh collects the figures in
LOAD_ENV = "BENCH_LOAD"  # the load average when bench/run.sh started


def interleaved(runs: dict[str, Callable[[], Any]], repetitions: int = 3) -> dict[str, list[Any]]:
    """Every run once per repetition, in turn (A B C, A B C, ...), so that a change of the machine's
    load during the benchmark falls on every run alike; returns each run's results in order."""
    results: dict[str, list[Any]] = {name: [] for name in runs}
    for _ in range(repetitions):
        for name, run in runs.items():
            results[name].append(run())
    return results


def timed(run: Callable[[], Any]) -> Callable[[], float]:
    """``run`` as a function returning its wall seconds."""
    def wall() -> float:
        start = time.perf_counter()
        run()
        return time.perf_counter() - start
    return wall


def record(figure: str, value: float, unit: str, goal: str = "", inputs: dict[str, Any] | None = None,
           runs: list[float] | None = None) -> None:
    """One figure (the median of ``runs`` when given) for this run's results; printed as well."""
    line = {"figure": figure, "value": value, "unit": unit, "goal": goal, "inputs": inputs or {},
            "runs": runs or [], "load_when_recorded": os.getloadavg()[0]}
    print(f"{figure}: {_number(value)} {unit}" + (f"  (goal {goal})" if goal else ""), flush=True)
    if os.environ.get(RECORD_ENV):
        with open(os.environ[RECORD_ENV], "a") as out:
            out.write(json.dumps(line) + "\n")


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def finish(figures_file: Path, readme: Path = README) -> Path:
    """Write ``bench/results/<date>-<commit>.json`` and the README's table; returns the JSON's path."""
    figures = [json.loads(line) for line in figures_file.read_text().splitlines() if line.strip()]
    commit = _git("rev-parse", "--short", "HEAD") or "unknown"
    if _git("status", "--porcelain", "--untracked-files=no"):
        commit += "-dirty"
    date = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    run = {"date": date, "commit": commit, "load_average_at_start": os.environ.get(LOAD_ENV, ""),
           "cpus": os.cpu_count(), "figures": figures}
    path = BENCH / "results" / f"{date}-{commit}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(run, indent=1) + "\n")
    update_table(readme, run)
    return path


def update_table(readme: Path, run: dict[str, Any]) -> None:
    """Replace the text between the markers with this run's table (markers appended if missing)."""
    rows = [f"`make bench` of {run['date']}, commit {run['commit']}, {run['cpus']} CPUs, load average at "
            f"start {run['load_average_at_start']} (each figure: median of its repetitions, run interleaved "
            f"with its peers; the JSON in `bench/results/` has the inputs and every repetition).", "",
            "| figure | value | goal | load when recorded |", "|:--|--:|:--|--:|"]
    rows += [f"| {f['figure']} | {_number(f['value'])} {f['unit']} | {f['goal']} | {f['load_when_recorded']:.1f} |"
             for f in run["figures"]]
    block = "\n".join([START, *rows, END])
    text = readme.read_text()
    if START in text and END in text:
        text = text[: text.index(START)] + block + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n## Figures of the last `make bench`\n\n" + block + "\n"
    readme.write_text(text)


def _number(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=BENCH, capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else ""


if __name__ == "__main__":
    if len(sys.argv) != 2 or not Path(sys.argv[1]).is_file():
        print("usage: python bench/results.py FIGURES.jsonl (an existing file)", file=sys.stderr)
        sys.exit(2)
    print(f"figures: {finish(Path(sys.argv[1]))}")
