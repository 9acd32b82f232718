"""Which final metrics to analyse, their task type, and their direction."""

from __future__ import annotations

from fnmatch import fnmatch

from sweeps.analysis.settings import AnalysisSettings


def task_type(metric: str) -> str:
    """``sts/stsb/spearman`` → ``sts``; a metric without ``/`` is its own task type."""
    return metric.split("/", 1)[0] if "/" in metric else metric


def select_metrics(available: list[str], settings: AnalysisSettings) -> list[str]:
    """``analysis.metrics`` (names or fnmatch patterns), else target + every task-type metric.

    Task-type metrics are those named ``<task_type>/<dataset>/<measure>``; ``analysis.task_types``
    restricts them to the listed first segments.
    """
    if settings.metrics:
        chosen = [m for m in available if any(fnmatch(m, p) for p in settings.metrics)]
    else:
        chosen = [
            m
            for m in available
            if m.count("/") == 2
            and (settings.task_types is None or task_type(m) in settings.task_types)
        ]
        if settings.target in available:
            chosen.insert(0, settings.target)
    seen: list[str] = []
    for metric in chosen:
        if metric not in seen:
            seen.append(metric)
    return seen


def higher_is_better(metric: str, settings: AnalysisSettings) -> bool:
    """The target follows ``mode``; other metrics are maximised unless they match ``minimize``."""
    if metric == settings.target:
        return settings.mode == "max"
    return not any(fnmatch(metric, p) for p in settings.minimize)
