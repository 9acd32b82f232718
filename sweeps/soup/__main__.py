"""Cook model soups from a finished sweep, from MLflow alone.

``python -m sweeps.soup --experiment NAME [--parent RUN_ID] [--tracking-uri URI]
[--recipe greedy|uniform|both] [--out DIR] [--no-log] [--config-dir DIR]``

Default parent: the experiment's most recent sweep run; default tracking URI: the local store
``sqlite:///<abs outputs>/mlflow.db``. The best trial's task is rebuilt from the local config
tree (``conf/``, or ``--config-dir``) and the overrides the sweep logged, never from a logged
artifact. The soups are logged as child runs of the parent (tag ``soup``) and the comparison to
the parent under ``soup/``, unless ``--no-log``. Unknown
experiment or parent, trials without weights, weights that do not match, logged overrides that do
not compose or a tampered ``config.yaml``: one ``error:`` line on stderr, exit code 2, nothing
logged.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sweeps.config import CONFIG_DIR
from sweeps.errors import SweepConfigError
from sweeps.report import default_tracking_uri
from sweeps.soup.cook import RECIPES, cook_soups


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sweeps.soup", description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", required=True, help="MLflow experiment (= sweep.name)")
    parser.add_argument("--parent", help="parent run id (default: the most recent sweep run)")
    parser.add_argument("--tracking-uri", help="MLflow tracking URI (default: sqlite store in outputs/)")
    parser.add_argument("--recipe", choices=[*RECIPES, "both"], default="both")
    parser.add_argument("--out", type=Path, help="also write the report to this folder")
    parser.add_argument("--no-log", action="store_true", help="do not log soups or report to MLflow")
    parser.add_argument("--config-dir", type=Path, default=CONFIG_DIR,
                        help="the local config tree the trials are rebuilt from (default: conf/)")
    args = parser.parse_args(argv)
    uri = args.tracking_uri or default_tracking_uri()
    try:
        if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
            raise SweepConfigError(f"no MLflow store at {uri} (give --tracking-uri)")
        text = cook_soups(uri, args.experiment, args.parent, args.recipe, args.out, log=not args.no_log,
                          config_dir=args.config_dir)
    except SweepConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
