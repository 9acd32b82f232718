"""Build a sweep's report folder and (optionally) log it to the parent run under ``report/``."""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from mlflow import MlflowClient
from mlflow.entities import Metric

from sweeps.analysis.analyze import Analysis, analyze
from sweeps.analysis.html_page import html_report
from sweeps.analysis.load import ReportError, SweepData, load_sweep
from sweeps.analysis.plots import make_plots
from sweeps.analysis.render import markdown_report, run_description, verdict_text
from sweeps.analysis.sanity import violations
from sweeps.analysis.settings import AnalysisSettings, apply_overrides

ARTIFACT_DIR = "report"
SANITY_TAG = "sanity"
NOTE_TAG = "mlflow.note.content"  # rendered as the run's description on its MLflow page
MAX_TAG_LENGTH = 5000  # MLflow's limit for a tag value is 8,000 characters


def settings_for(
    data: SweepData, analysis: Any = None, overrides: list[str] | None = None
) -> AnalysisSettings:
    """``analysis`` if given, else the parent's logged ``analysis`` config, then ``overrides``
    (``key=value``); target and mode default to the logged ``sweep.metric`` / ``sweep.mode``."""
    logged = data.config.get("analysis") if isinstance(data.config.get("analysis"), dict) else {}
    config = analysis if analysis is not None else logged
    settings = AnalysisSettings.from_config(apply_overrides(config, overrides) if overrides else config)
    sweep = data.config.get("sweep") if isinstance(data.config.get("sweep"), dict) else {}
    if settings.target is None and sweep.get("metric"):
        settings.target = str(sweep["metric"])
        settings.mode = str(sweep.get("mode", settings.mode))
    return settings


def write_report(analysis: Analysis, out_dir: Path) -> list[Path]:
    """Write verdicts.txt, report.md, report.html, CSVs and plots/ into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plots = make_plots(analysis, out_dir / "plots")
    text = verdict_text(analysis)
    markdown = markdown_report(analysis, plots)
    files = {
        "verdicts.txt": text + "\n",
        "report.md": markdown,
        "report.html": html_report(analysis, plots),
        "settings.json": json.dumps(asdict(analysis.settings), indent=2) + "\n",
    }
    for name, content in files.items():
        (out_dir / name).write_text(content)
    tables = {
        "scores.csv": analysis.runs,
        "aggregates.csv": analysis.aggregates,
        "pvalues.csv": analysis.pairs,
        "pvalues_per_seed.csv": analysis.per_seed,
        "pvalues_tasks.csv": analysis.tasks,
        "resolution.csv": analysis.resolution,
    }
    if analysis.sampled is not None:
        tables["top_configs.csv"] = analysis.sampled.top
        tables["importance.csv"] = analysis.sampled.importance
    for name, frame in tables.items():
        frame.to_csv(out_dir / name, index=False)
    return [out_dir / n for n in [*files, *tables]] + plots


def report_sweep(
    tracking_uri: str,
    experiment: str,
    parent_run_id: str | None,
    analysis: Any = None,
    out_dir: Path | str = "report",
    log: bool = True,
    overrides: list[str] | None = None,
) -> str:
    """Analyse a sweep from MLflow, write its report to ``out_dir``, log it to the parent run under
    ``report/`` when ``log``; returns the verdict text (for the terminal). ``overrides``
    (``key=value``) change the logged analysis settings."""
    data = load_sweep(tracking_uri, experiment, parent_run_id)
    if not (data.runs["status"] == "FINISHED").any():
        raise ReportError(
            f"sweep '{experiment}' (parent run {data.parent_run_id}) has no finished child run: "
            "nothing to report"
        )
    result = analyze(data, settings_for(data, analysis, overrides))
    write_report(result, Path(out_dir))
    if log:
        client = MlflowClient(tracking_uri=tracking_uri)
        client.log_artifacts(data.parent_run_id, str(out_dir), ARTIFACT_DIR)
        for key, value in {**sanity_tags(result), NOTE_TAG: run_description(result)}.items():
            client.set_tag(data.parent_run_id, key, value)
        answer = answer_metrics(result)
        if answer:
            now = int(time.time() * 1000)
            client.log_batch(
                data.parent_run_id, metrics=[Metric(k, v, now, 0) for k, v in answer.items()]
            )
    return verdict_text(result)


def answer_metrics(analysis: Analysis) -> dict[str, float]:
    """The best design's mean and 95% CI bounds of the sweep's metric, as parent-run metrics."""
    target = analysis.settings.target
    verdict = next((v for v in analysis.verdicts if v.scope == "metric" and v.name == target), None)
    if verdict is None or verdict.best is None:
        return {}
    agg = analysis.aggregates
    row = agg[(agg["metric"] == target) & (agg["design"] == verdict.best)].iloc[0]
    values = {f"best/{target}": row["mean"], f"best/{target}/ci_low": row["ci_low"],
              f"best/{target}/ci_high": row["ci_high"]}
    return {k: float(v) for k, v in values.items() if math.isfinite(float(v))}


def sanity_tags(analysis: Analysis) -> dict[str, str]:
    """The parent run's sanity tags: ``sanity`` = ok | violated | none, and the violated checks."""
    bad = violations(analysis.sanity)
    status = "none" if not analysis.sanity else ("violated" if bad else "ok")
    tags = {SANITY_TAG: status}
    if bad:
        tags[f"{SANITY_TAG}.violations"] = "; ".join(r.line() for r in bad)[:MAX_TAG_LENGTH]
    return tags
