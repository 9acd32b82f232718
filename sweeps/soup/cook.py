"""Cook model soups from a finished sweep, evaluate them through its task, log them to MLflow.

Reads the sweep from MLflow: the parent run's ``config.yaml`` gives the selection metric
(``sweep.metric``, ``sweep.mode``), its FINISHED trial runs give the ingredients. The task is
rebuilt from the LOCAL config tree plus the best trial's logged overrides (never from an
artifact's ``_target_``; see :mod:`sweeps.rebuild`), and its ``evaluate_weights`` (see
:class:`modules.contract.run.EvaluatesWeights`) scores each soup on held-out and test data. Every check
(ingredients, matching weights, the task's hook) runs before anything is logged. Each soup becomes
an extra child run of the parent (tag ``soup=<recipe>``, its ingredients, metrics, weights); the
comparison with the best single trial goes to the parent under ``soup/``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from mlflow import MlflowClient
from mlflow.entities import Metric, Param
from mlflow.exceptions import MlflowException
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME
from omegaconf import DictConfig, OmegaConf

from modules.contract.keys import DESIGN_TAG, SOUP_TAG
from modules.contract.weights import save_weights
from sweeps.analysis.load import _quiet_downloads, find_parent
from sweeps.config import CONFIG_DIR
from sweeps.rebuild import check_artifact, logged_base_overrides, rebuild_config, swept_overrides
from sweeps.redact import redact_config, redaction_words
from sweeps.soup import report
from sweeps.soup.choices import CHOICES, RECIPES
from sweeps.soup.ingredients import (
    Ingredient,
    SoupError,
    check_compatible,
    download_config,
    load_ingredients,
)
from sweeps.soup.recipes import greedy_soup, uniform_soup
from sweeps.soup.report import Soup

HELDOUT = "heldout"


def recipes_of(choice: str) -> list[str]:
    """``none`` → [], ``both`` → uniform and greedy, else the one recipe; anything else is an error."""
    if choice not in CHOICES:
        raise SoupError(f"soup recipe must be one of {', '.join(CHOICES)}, got {choice!r}")
    return list(RECIPES) if choice == "both" else [] if choice == "none" else [choice]


def cook_soups(
    tracking_uri: str,
    experiment: str,
    parent_run_id: str | None = None,
    recipe: str = "both",
    out_dir: Path | None = None,
    log: bool = True,
    base_overrides: list[str] | None = None,
    config_dir: str | Path = CONFIG_DIR,
) -> str:
    """Cook, evaluate and (with ``log``) record the soups; returns the comparison as text.

    ``base_overrides``: the sweep's plain overrides when the sweep itself cooks (secrets included),
    else the parent's logged ones; ``config_dir``: the local config tree the trial is rebuilt from.
    """
    recipes = recipes_of(recipe)
    with _quiet_downloads(), tempfile.TemporaryDirectory(prefix="soup-") as scratch:
        client = MlflowClient(tracking_uri=tracking_uri)
        experiment_id, parent = find_parent(client, experiment, parent_run_id)
        metric, mode = selection_metric(client, parent, Path(scratch) / "parent")
        ingredients = load_ingredients(client, experiment_id, parent, metric, mode, Path(scratch))
        check_compatible(ingredients)
        cfg = trial_config_of(client, parent, ingredients[0].run_id, Path(scratch), base_overrides, config_dir)
        config_text = OmegaConf.to_yaml(redact_config(cfg, redaction_words(cfg)))
        task = soup_task(cfg)
        soups = [cook(name, ingredients, task, cfg, metric, mode) for name in recipes]
        best = ingredients[0]
        title = (f"Model soups of {experiment!r} (parent run {parent}): {len(ingredients)} trials, "
                 f"selection on {metric} ({mode})")
        table = report.comparison(best, soups)
        lines = report.verdict(best, soups, metric, mode)
        folder = report.write_report(Path(out_dir or Path(scratch) / "report"), title, table,
                                     report.ingredients_frame(ingredients, soups), lines)
        if log:
            for soup in soups:
                log_soup(client, experiment_id, parent, soup, config_text, Path(scratch) / soup.recipe)
            client.log_artifacts(parent, str(folder), report.REPORT_DIR)
        return report.render_text(title, table, lines)


def selection_metric(client: MlflowClient, parent: str, folder: Path) -> tuple[str, str]:
    """(``sweep.metric``, ``sweep.mode``) from the parent run's ``config.yaml``."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        config = yaml.safe_load(Path(client.download_artifacts(parent, "config.yaml", str(folder))).read_text())
        sweep = config["sweep"]
        return str(sweep["metric"]), str(sweep.get("mode", "max"))
    except (MlflowException, OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise SoupError(f"parent run {parent} has no config.yaml with sweep.metric") from exc


def trial_config_of(client: MlflowClient, parent: str, run_id: str, scratch: Path,
                    base_overrides: list[str] | None, config_dir: str | Path) -> DictConfig:
    """The trial's config rebuilt locally from its overrides, cross-checked with its config.yaml."""
    if base_overrides is None:
        base_overrides = logged_base_overrides(client, parent, scratch / "overrides")
    cfg = rebuild_config(base_overrides, swept_overrides(client.get_run(run_id).data.tags), config_dir)
    logged = download_config(client, run_id, scratch / "config")
    if logged is not None:
        check_artifact(logged, cfg, run_id)
    return cfg


def soup_task(cfg: DictConfig) -> Any:
    """The trials' task, which must be able to evaluate weights (``evaluate_weights``)."""
    from hydra.utils import instantiate

    task = instantiate(cfg.task)
    if not callable(getattr(task, "evaluate_weights", None)):
        raise SoupError(f"task {cfg.task.get('_target_')} has no evaluate_weights(cfg, state_dict): "
                        "it cannot score a soup")
    return task


def cook(recipe: str, ingredients: list[Ingredient], task: Any, cfg: DictConfig,
         metric: str, mode: str) -> Soup:
    """One soup, evaluated on held-out and test data through ``task.evaluate_weights``."""
    weights = [i.state_dict for i in ingredients]
    if recipe == "uniform":
        soup = Soup(recipe, uniform_soup(weights), list(ingredients), {})
    else:
        result = greedy_soup(weights, lambda sd: heldout_score(task, cfg, sd, metric), mode)
        trace = {ingredients[i].run_id: value for i, value, _ in result.trace}
        soup = Soup(recipe, result.state_dict, [ingredients[i] for i in result.kept], {}, trace)
    soup.metrics = {k: float(v) for k, v in task.evaluate_weights(cfg, soup.state_dict).items()}
    return soup


def heldout_score(task: Any, cfg: DictConfig, state_dict: dict, metric: str) -> float:
    """The held-out score that drives the greedy recipe (only the held-out split is evaluated)."""
    metrics = task.evaluate_weights(cfg, state_dict, splits=(HELDOUT,))
    if metric not in metrics:
        raise SoupError(f"the task's held-out metrics {sorted(metrics)} lack the sweep metric {metric!r}")
    return float(metrics[metric])


def log_soup(client: MlflowClient, experiment_id: str, parent: str, soup: Soup,
             config_text: str, folder: Path) -> str:
    """A child run of ``parent`` tagged ``soup=<recipe>`` (an earlier one of that recipe is deleted)."""
    earlier = client.search_runs(
        [experiment_id],
        filter_string=f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{parent}' and tags.`{SOUP_TAG}` = '{soup.recipe}'",
    )
    for run in earlier:
        client.delete_run(run.info.run_id)
    names = [i.name for i in soup.ingredients]
    run_name = f"soup={soup.recipe}"
    run_id = client.create_run(experiment_id, run_name=run_name, tags={
        MLFLOW_PARENT_RUN_ID: parent, MLFLOW_RUN_NAME: run_name, SOUP_TAG: soup.recipe,
        DESIGN_TAG: run_name, "soup.ingredients": "; ".join(names)[:5000],
    }).info.run_id
    now = int(time.time() * 1000)
    client.log_batch(
        run_id,
        metrics=[Metric(k, v, now, 0) for k, v in soup.metrics.items()],
        params=[Param("soup.recipe", soup.recipe), Param("soup.size", str(len(names))),
                Param("soup.ingredient_runs", ",".join(i.run_id for i in soup.ingredients)[:5000])],
    )
    save_weights(folder, soup.state_dict, soup.ingredients[0].init, recipe=soup.recipe,
                 ingredient_runs=[i.run_id for i in soup.ingredients])
    client.log_artifacts(run_id, str(folder))
    client.log_text(run_id, config_text, "config.yaml")
    client.set_terminated(run_id, status="FINISHED")
    return run_id
