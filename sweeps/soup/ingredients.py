"""A sweep's trials as soup ingredients, read from MLflow alone (local store or server).

An ingredient is a FINISHED child run of the sweep's parent run (soup runs excluded) that logged
``weights.safetensors`` and ``weights.json`` (see :func:`modules.contract.weights.save_weights`), with its
held-out score (the sweep's metric) and its trial config (``config.yaml``). Ingredients are
sorted best first. :func:`check_compatible` refuses trials whose weights differ in names, shapes,
dtypes or initial-weights fingerprint: they are not one architecture from one initialization,
and averaging them would be meaningless.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

from modules.contract.keys import SOUP_TAG
from modules.contract.weights import WEIGHTS_FILE, WEIGHTS_INFO_FILE
from sweeps.errors import SweepConfigError

CONFIG_FILE = "config.yaml"


class SoupError(SweepConfigError):
    """Nothing to cook or ingredients that do not match: one clear line, exit code 2."""


@dataclass
class Ingredient:
    """One finished trial: its run, held-out score, metrics, weights and init fingerprint."""

    run_id: str
    name: str
    score: float
    metrics: dict[str, float]
    state_dict: dict[str, torch.Tensor] = field(repr=False)
    init: str

    @property
    def label(self) -> str:
        return f"{self.name!r} (run {self.run_id[:8]})"


def trial_runs(client: MlflowClient, experiment_id: str, parent: str) -> list[Any]:
    """The parent's FINISHED child runs that are trials (not soups)."""
    runs = client.search_runs(
        [experiment_id],
        filter_string=f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{parent}' and attributes.status = 'FINISHED'",
        max_results=50000,
    )
    return [r for r in runs if SOUP_TAG not in r.data.tags]


def load_ingredients(
    client: MlflowClient, experiment_id: str, parent: str, metric: str, mode: str, scratch: Path
) -> list[Ingredient]:
    """Every trial's weights and score, sorted best first by ``metric`` (``mode`` max or min)."""
    runs = trial_runs(client, experiment_id, parent)
    if not runs:
        raise SoupError(f"parent run {parent} has no FINISHED trial runs to cook a soup from")
    found = []
    for run in runs:
        name = run.data.tags.get("mlflow.runName") or run.info.run_name or run.info.run_id
        if metric not in run.data.metrics:
            raise SoupError(f"trial {name!r} (run {run.info.run_id[:8]}) has no metric {metric!r}")
        folder = scratch / run.info.run_id
        state_dict, info = _download_weights(client, run.info.run_id, name, folder)
        found.append(Ingredient(run.info.run_id, name, float(run.data.metrics[metric]),
                                dict(run.data.metrics), state_dict, str(info.get("init_fingerprint"))))
    sign = -1.0 if mode == "max" else 1.0
    return sorted(found, key=lambda i: (sign * i.score if not math.isnan(i.score) else math.inf, i.name))


def _download_weights(
    client: MlflowClient, run_id: str, name: str, folder: Path
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    from safetensors.torch import load_file

    folder.mkdir(parents=True, exist_ok=True)
    try:
        names = {a.path for a in client.list_artifacts(run_id)}
        if WEIGHTS_FILE not in names or WEIGHTS_INFO_FILE not in names:
            raise SoupError(
                f"trial {name!r} (run {run_id[:8]}) logged no {WEIGHTS_FILE} + {WEIGHTS_INFO_FILE}: "
                "its task must save them (modules.contract.weights.save_weights)"
            )
        weights = client.download_artifacts(run_id, WEIGHTS_FILE, str(folder))
        info = client.download_artifacts(run_id, WEIGHTS_INFO_FILE, str(folder))
    except MlflowException as exc:
        raise SoupError(f"trial {name!r} (run {run_id[:8]}): cannot read its weights ({exc})") from exc
    return load_file(weights), json.loads(Path(info).read_text())


def check_compatible(ingredients: list[Ingredient]) -> None:
    """Raise :class:`SoupError` naming the first trial and tensor that do not match the first one."""
    ref = ingredients[0]
    for other in ingredients[1:]:
        problem = _difference(ref, other)
        if problem:
            raise SoupError(
                f"cannot average trial {other.label} with {ref.label}: {problem} "
                "(soups need one architecture fine-tuned from one initialization)"
            )


def _difference(ref: Ingredient, other: Ingredient) -> str | None:
    a, b = ref.state_dict, other.state_dict
    missing, extra = sorted(set(a) - set(b)), sorted(set(b) - set(a))
    if missing:
        return f"tensor {missing[0]!r} is missing ({len(missing)} missing)"
    if extra:
        return f"tensor {extra[0]!r} is unexpected ({len(extra)} unexpected)"
    for key in sorted(a):
        if a[key].shape != b[key].shape:
            return f"tensor {key!r} has shape {tuple(b[key].shape)}, expected {tuple(a[key].shape)}"
        if a[key].dtype != b[key].dtype:
            return f"tensor {key!r} has dtype {b[key].dtype}, expected {a[key].dtype}"
    if ref.init != other.init:
        return f"initial weights differ (init fingerprint {other.init}, expected {ref.init})"
    return None


def download_config(client: MlflowClient, run_id: str, folder: Path) -> str | None:
    """The trial's logged config (``config.yaml`` on its run) as text, None when it has none."""
    try:
        if CONFIG_FILE not in {a.path for a in client.list_artifacts(run_id)}:
            return None
        folder.mkdir(parents=True, exist_ok=True)
        return Path(client.download_artifacts(run_id, CONFIG_FILE, str(folder))).read_text()
    except (MlflowException, OSError) as exc:
        raise SoupError(f"run {run_id[:8]}: cannot read its {CONFIG_FILE} ({exc})") from exc
