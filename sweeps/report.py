"""Rebuild a sweep's significance report from MLflow alone.

``python -m sweeps.report --experiment NAME [--parent RUN_ID] [--tracking-uri URI]
[--out DIR] [--log] [--set KEY=VALUE ...]``

Default parent: the experiment's most recent parent (sweep) run. Default tracking URI: the local
store ``sqlite:///<abs outputs>/mlflow.db``. Default folder: ``outputs/reports/<NAME>/<RUN_ID>``.
The report is logged to the parent run (under ``report/``) only with ``--log``: rebuilding is
read-only unless asked. ``--set`` changes an analysis setting that the sweep logged (e.g.
``--set n_permutations=auto --set aso.enabled=false``). Unknown experiment or parent run, or a
bad ``--set``: one line on stderr, exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sweeps.analysis import report_sweep
from sweeps.errors import SweepConfigError


def default_tracking_uri(output_dir: str | Path = "outputs") -> str:
    return f"sqlite:///{Path(output_dir).resolve()}/mlflow.db"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sweeps.report", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--experiment", required=True, help="MLflow experiment (= sweep.name)")
    parser.add_argument("--parent", help="parent run id (default: the most recent sweep run)")
    parser.add_argument(
        "--tracking-uri", help="MLflow tracking URI (default: sqlite store in outputs/)"
    )
    parser.add_argument(
        "--out", type=Path, help="report folder (default: outputs/reports/NAME/RUN_ID)"
    )
    parser.add_argument("--log", action="store_true", help="also log the report to the parent run")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
        help="change a logged analysis setting (repeatable), e.g. aso.enabled=false",
    )
    args = parser.parse_args(argv)
    uri = args.tracking_uri or default_tracking_uri()
    try:
        check_overrides(args.overrides)
        if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
            raise SweepConfigError(f"no MLflow store at {uri} (give --tracking-uri)")
        parent = args.parent or load_sweep_parent(uri, args.experiment)
        out = args.out or Path("outputs") / "reports" / args.experiment / parent
        text = report_sweep(uri, args.experiment, parent, None, out, log=args.log, overrides=args.overrides)
    except SweepConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(text)
    print(
        f"\nreport written to {Path(out).resolve()}"
        + (" and logged to the parent run" if args.log else "")
    )
    return 0


def check_overrides(overrides: list[str]) -> None:
    """Malformed or unknown ``--set`` overrides, or invalid values: SweepConfigError, before any
    MLflow read."""
    from sweeps.analysis.settings import AnalysisSettings, apply_overrides

    try:
        AnalysisSettings.from_config(apply_overrides({}, overrides))
    except ValueError as err:
        raise SweepConfigError(str(err)) from err


def load_sweep_parent(uri: str, experiment: str) -> str:
    from mlflow import MlflowClient

    from sweeps.analysis.load import find_parent

    return find_parent(MlflowClient(tracking_uri=uri), experiment)[1]


if __name__ == "__main__":
    sys.exit(main())
