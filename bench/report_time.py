"""Wall time of ``python -m sweeps.report`` on a finished sweep, optionally against an older commit
in the same run (interleaved, medians), and whether both give the same p-values.

    python bench/report_time.py --tracking-uri sqlite:////path/mlflow.db --experiment pooling_grid \
        [--before COMMIT] [--designs 7] [--repeats 3] [--set aso.enabled=false ...]

The store is only read: ``--designs N`` keeps the first N designs (sorted) by soft-deleting the
others' child runs in a copy of the SQLite file (the artifacts stay where the runs point).
``--before`` runs the given commit's tree (``git archive``) on the same store. Each run is what
``python -m sweeps.report`` does (load, analyse, write the report folder), through a driver that
older commits also run: the logged analysis settings with ``--set`` applied (as the CLI's
``--set``). Prints the load
average first, then seconds per run (wall, and CPU of the report process: on a loaded machine the
CPU time is the comparable figure), medians, the ratio, and the largest difference of every
column of ``pvalues.csv`` and ``pvalues_per_seed.csv`` between the two (p columns must be 0).
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
TABLES = ("pvalues.csv", "pvalues_per_seed.csv")
DRIVER = """
import sys, yaml
from sweeps.analysis.analyze import analyze
from sweeps.analysis.load import load_sweep
from sweeps.analysis.render import verdict_text
from sweeps.analysis.report import settings_for, write_report
uri, experiment, out, *overrides = sys.argv[1:]
data = load_sweep(uri, experiment)
config = dict(data.config.get("analysis") or {})
config["aso"] = dict(config.get("aso") or {})
for override in overrides:
    key, value = override.split("=", 1)
    section, _, name = key.rpartition(".")
    (config[section] if section else config)[name] = yaml.safe_load(value)
analysis = analyze(data, settings_for(data, config))
write_report(analysis, out)
print(verdict_text(analysis))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--experiment", required=True)
    parser.add_argument("--before", help="a commit to time on the same store, interleaved")
    parser.add_argument("--designs", type=int, help="keep only the first N designs (sorted)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE",
                        help="change a logged analysis setting, e.g. aso.enabled=false")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory(prefix="report-bench-") as scratch:
        work = Path(scratch)
        uri = args.tracking_uri
        if args.designs:
            uri = subset_store(uri, args.experiment, args.designs, work / "subset")
        trees = {"after": ROOT}
        if args.before:
            trees = {"before": export_commit(args.before, work / "before"), **trees}
        times: dict[str, list[float]] = {name: [] for name in trees}
        cpu: dict[str, list[float]] = {name: [] for name in trees}
        for rep in range(args.repeats):
            for name, tree in trees.items():
                seconds, cpu_seconds = run_report(tree, uri, args.experiment, work / f"{name}-{rep}", args.overrides)
                times[name].append(seconds)
                cpu[name].append(cpu_seconds)
                print(f"{name} #{rep + 1}: {seconds:.1f} s wall, {cpu_seconds:.1f} s CPU", flush=True)
        medians = {name: statistics.median(values) for name, values in times.items()}
        for name, median in medians.items():
            print(f"{name}: median {median:.1f} s wall, {statistics.median(cpu[name]):.1f} s CPU "
                  f"over {len(times[name])}")
        if args.before:
            ratio_cpu = statistics.median(cpu["before"]) / statistics.median(cpu["after"])
            print(f"ratio before / after: {medians['before'] / medians['after']:.1f}x wall, {ratio_cpu:.1f}x CPU")
            return compare(work / "before-0", work / "after-0")
    return 0


def subset_store(uri: str, experiment: str, designs: int, folder: Path) -> str:
    """A copy of the SQLite store in which only the first ``designs`` designs' child runs are active."""
    from mlflow import MlflowClient

    source = Path(uri.removeprefix("sqlite:///"))
    folder.mkdir(parents=True)
    shutil.copy(source, folder / source.name)
    copy = f"sqlite:///{folder / source.name}"
    client = MlflowClient(tracking_uri=copy)
    runs = client.search_runs([client.get_experiment_by_name(experiment).experiment_id], max_results=50000)
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    keep = sorted({r.data.tags.get("design", "") for r in children})[:designs]
    for run in children:
        if run.data.tags.get("design", "") not in keep:
            client.delete_run(run.info.run_id)
    print(f"subset: {designs} designs, {sum(r.data.tags.get('design', '') in keep for r in children)} runs")
    return copy


def export_commit(commit: str, folder: Path) -> Path:
    """The tree of ``commit`` (tracked files) extracted into ``folder``."""
    archive = subprocess.run(["git", "archive", commit], cwd=ROOT, capture_output=True, check=True).stdout
    folder.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def run_report(tree: Path, uri: str, experiment: str, out: Path, overrides: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + system of the report process) of one report."""
    command = [sys.executable, "-c", DRIVER, uri, experiment, str(out), *overrides]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)},
                          capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"report failed in {tree} (exit {done.returncode}): {done.stderr[-2000:]}")
    return seconds, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def compare(before: Path, after: Path) -> int:
    """The largest absolute difference per numeric column; exit 1 if a p-value differs."""
    differs = False
    for name in TABLES:
        old, new = pd.read_csv(before / name), pd.read_csv(after / name)
        if old.shape != new.shape or list(old.columns) != list(new.columns):
            print(f"{name}: shapes or columns differ ({old.shape} vs {new.shape})")
            differs = True
            continue
        for column in old.select_dtypes("number").columns:
            gap = (old[column] - new[column]).abs().max()
            same_nan = old[column].isna().equals(new[column].isna())
            if gap > 0 or not same_nan:
                print(f"{name} {column}: largest difference {gap:.3g}" + ("" if same_nan else ", NaN differ"))
                differs |= column == "p" or column.startswith("p_")
        print(f"{name}: {len(old)} rows compared")
    print("p-values identical" if not differs else "p-values DIFFER")
    return 1 if differs else 0


if __name__ == "__main__":
    sys.exit(main())
