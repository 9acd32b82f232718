"""Synthetic sweeps (no Ray, no MLflow) for the analysis tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sweeps.analysis.load import RUN_COLUMNS, SweepData
from sweeps.analysis.per_example import PerExample


def sweep_data(
    scores: dict[str, list[float]],
    metric: str = "val_acc",
    status: str = "FINISHED",
    per_example: dict[tuple[str, int], PerExample] | None = None,
) -> SweepData:
    """{design: [score per seed]} → SweepData (seed i for the i-th score; NaN allowed)."""
    rows, examples = [], {}
    for design, values in scores.items():
        for seed, value in enumerate(values):
            run_id = f"{design}|{seed}"
            rows.append(
                {
                    "run_id": run_id,
                    "design": design,
                    "seed": float(seed),
                    "status": status,
                    metric: value,
                }
            )
            if per_example and (design, seed) in per_example:
                examples[(run_id, metric)] = per_example[(design, seed)]
    runs = pd.DataFrame(rows, columns=[*RUN_COLUMNS, metric])
    return SweepData("synthetic", "parent0", runs, examples, {})


def scores_frame(values: np.ndarray) -> PerExample:
    return PerExample("mean", pd.DataFrame({"example_id": np.arange(len(values)), "score": values}))


def many_designs(n: int, seeds: int = 3) -> dict[str, list[float]]:
    """``n`` designs with long names (three swept keys), accuracies rising with the index."""
    rng = np.random.default_rng(n)
    return {
        f"model.encoder.hidden_size={16 * (i + 1)},optim.learning_rate={10.0 ** -(i % 4 + 1)},"
        f"data.augmentation=random_resized_crop_{i}": list(0.5 + 0.02 * i + rng.normal(0, 0.02, seeds))
        for i in range(n)
    }
