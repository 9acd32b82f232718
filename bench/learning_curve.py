"""The learning curve of a sweep: a per-epoch metric of every child run, as a table (epochs x
designs) with the across-design mean, and the first epoch whose mean is within ``--tolerance`` of
the best (where the metric stops improving).

    python bench/learning_curve.py --output-dir outputs --experiment pooling_lc \
        [--metric val/sts_spearman] [--tolerance 0.005]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from mlflow import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID


def curves(output_dir: Path, experiment: str, metric: str) -> pd.DataFrame:
    """One column per design (seed-mean), one row per epoch (MLflow steps are 1-based epochs)."""
    client = MlflowClient(f"sqlite:///{Path(output_dir).resolve()}/mlflow.db")
    found = client.get_experiment_by_name(experiment)
    if found is None:
        raise SystemExit(f"no experiment {experiment!r} under {output_dir}")
    rows = []
    for run in client.search_runs([found.experiment_id], max_results=5000):
        if MLFLOW_PARENT_RUN_ID not in run.data.tags:
            continue
        design = run.data.tags.get("design", run.info.run_id)
        history = sorted(client.get_metric_history(run.info.run_id, metric), key=lambda p: p.step)
        if len(history) > 1 and history[-1].value == history[-2].value:
            history = history[:-1]  # the trial's final report repeats the last epoch's score
        for point in history:
            rows.append({"design": design, "epoch": point.step, "value": point.value})
    frame = pd.DataFrame(rows)
    if frame.empty:
        raise SystemExit(f"no {metric} history in {experiment!r}")
    return frame.pivot_table(index="epoch", columns="design", values="value", aggfunc="mean")


def plateau(table: pd.DataFrame, tolerance: float) -> int:
    """The first epoch whose across-design mean is within ``tolerance`` of the best mean."""
    mean = table.mean(axis=1)
    return int(mean[mean >= mean.max() - tolerance].index.min())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", default="outputs")
    parser.add_argument("--experiment", required=True)
    parser.add_argument("--metric", default="val/sts_spearman")
    parser.add_argument("--tolerance", type=float, default=0.005)
    args = parser.parse_args()
    table = curves(Path(args.output_dir), args.experiment, args.metric)
    table["mean"] = table.mean(axis=1)
    print(table.round(3).to_markdown())
    print(f"plateau epoch: {plateau(table.drop(columns='mean'), args.tolerance)}")


if __name__ == "__main__":
    main()
