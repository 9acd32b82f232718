"""A trial's config schedule: the hyper-parameters it trained with, from which epoch on.

Under population-based training a trial's config changes when it clones a better trial and
perturbs its values; the driver's MLflow callback notices each change in the results it receives
and records the schedule on the trial's child run (a table and a one-line tag).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from sweeps.space import SEED_KEY

FROM_EPOCH = "from_epoch"
SCHEDULE_FILE = "config_schedule.csv"
SCHEDULE_TAG = "config_schedule"
MUTATIONS_TAG = "config_mutations"
MAX_TAG = 4900  # under MLflow's tag value limit


def swept_values(config: dict[str, Any]) -> dict[str, str]:
    """The values a schedule follows: every sampled key but the seed, as text."""
    return {k: str(v) for k, v in sorted(config.items()) if k != SEED_KEY}


def add_step(rows: list[dict[str, Any]], config: dict[str, Any], epoch: int) -> bool:
    """Append ``config`` from ``epoch`` on if it differs from the last row; True if it did."""
    values = swept_values(config)
    if rows and {k: v for k, v in rows[-1].items() if k != FROM_EPOCH} == values:
        return False
    rows.append({FROM_EPOCH: int(epoch), **values})
    return True


def schedule_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows)


def schedule_text(rows: list[dict[str, Any]]) -> str:
    """``epoch 1: optim.lr=0.01 | epoch 3: optim.lr=0.012``: each step's changed values only."""
    parts, last = [], {}
    for row in rows:
        changed = {k: v for k, v in row.items() if k != FROM_EPOCH and last.get(k) != v}
        parts.append(f"epoch {row[FROM_EPOCH]}: " + ", ".join(f"{k}={v}" for k, v in changed.items()))
        last = row
    text = " | ".join(parts)
    return text if len(text) <= MAX_TAG else "…" + text[-MAX_TAG:]
