"""The end-of-sweep summary: per design, mean and spread of the target metric across seeds."""

from __future__ import annotations

import math

import pandas as pd
from ray.tune import ResultGrid

from modules.contract.keys import FINAL_KEY
from sweeps.space import SEED_KEY, design_of


def trials_frame(results: ResultGrid, metric: str) -> pd.DataFrame:
    """One row per trial: design, seed, status (finished / stopped / failed), the target metric."""
    rows = []
    for result in results:
        config = dict(result.config or {})
        metrics = result.metrics or {}
        if result.error is not None:
            status = "failed"
        elif FINAL_KEY in metrics:
            status = "finished"
        else:
            status = "stopped"
        rows.append(
            {
                "trial_id": metrics.get("trial_id", ""),
                "design": design_of(config),
                "seed": config.get(SEED_KEY),
                "status": status,
                metric: _number(metrics.get(metric)),
                "epochs": metrics.get("training_iteration"),
            }
        )
    return pd.DataFrame(rows)


def design_summary(trials: pd.DataFrame, metric: str, mode: str) -> pd.DataFrame:
    """Per design over its finished trials: n, mean, std, min, max of ``metric``; best first."""
    finished = trials[trials["status"] == "finished"]
    grouped = finished.groupby("design")[metric]
    table = grouped.agg(["count", "mean", "std", "min", "max"]).rename(columns={"count": "n"})
    counts = trials.groupby("design")["status"].value_counts().unstack(fill_value=0)
    table = counts.join(table, how="left")
    return table.sort_values("mean", ascending=(mode == "min"), na_position="last")


def best_trial(trials: pd.DataFrame, metric: str, mode: str) -> pd.Series | None:
    finished = trials[(trials["status"] == "finished") & trials[metric].notna()]
    if finished.empty:
        return None
    index = finished[metric].idxmin() if mode == "min" else finished[metric].idxmax()
    return finished.loc[index]


def format_summary(table: pd.DataFrame, best: pd.Series | None, metric: str) -> str:
    lines = [f"Summary of {metric} per design (finished trials; std across seeds):", table.to_string(float_format="%.4f")]
    if best is not None:
        lines.append(f"Best trial: {best['design']} seed={best['seed']} {metric}={best[metric]:.4f}")
    return "\n".join(lines)


def _number(value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return number
