"""A validated sweep, ready to run: the driver's config, the trials' plain overrides, the space."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig

MODEL_TRAINING_VIEW = "workflowType=machine_learning"  # the MLflow UI's own view switch (a URL query)


@dataclass
class SweepPlan:
    """Everything the runner needs, checked before Ray starts."""

    cfg: DictConfig                 # the composed, resolved driver config
    base_overrides: list[str]       # plain overrides every trial composes with (output dir made absolute)
    space: dict[str, str]           # config key → Hydra sweep expression
    param_space: dict[str, Any]     # the Ray Tune param_space, seed axis included
    command: str = ""
    resuming: bool = False          # restore the sweep's Ray state (resume=true, or auto with state)

    @property
    def state_path(self) -> str:
        """The sweep's deterministic Ray state folder or URI: ``<storage.path>/<sweep.name>``."""
        return f"{str(self.cfg.storage.path).rstrip('/')}/{self.cfg.sweep.name}"

    @property
    def num_trials(self) -> int:
        """How many trials the sweep has: the grid's combinations × ``sweep.num_samples``; under a
        searcher, its configurations × the seeds."""
        from sweeps.search import SEARCHERS

        if str(self.cfg.sweep.search) in SEARCHERS:
            return int(self.cfg.sweep.num_samples) * len(self.cfg.sweep.seeds)
        axes = [v["grid_search"] for v in self.param_space.values() if isinstance(v, dict) and "grid_search" in v]
        return math.prod(len(values) for values in axes) * int(self.cfg.sweep.num_samples)

    def mlflow_hint(self, parent_run_id: str, experiment_id: str | None = None) -> str:
        """The exact command (or address) that shows this sweep in MLflow. The link opens the parent
        run in MLflow's model-training view (MLflow 3 opens its GenAI view unless asked)."""
        uri = str(self.cfg.tracking.uri)
        local = uri.startswith(("sqlite:", "file:", "/"))
        base = "http://127.0.0.1:5000" if local else uri.rstrip("/")
        page = f"{base}/#/experiments/{experiment_id}/runs/{parent_run_id}?{MODEL_TRAINING_VIEW}"
        where = f"mlflow ui --backend-store-uri {uri}, then {page}" if local else page
        if experiment_id is None:
            where = f"mlflow ui --backend-store-uri {uri}" if local else f"open {uri}"
        return f"MLflow: experiment '{self.cfg.sweep.name}', parent run {parent_run_id} — {where}"
