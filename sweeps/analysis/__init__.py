"""Statistical comparison of a sweep's designs: designs × seeds → CIs, tests, Holm, verdicts.

Public API: :func:`report_sweep` (what the runner calls at the end of a sweep and what
``python -m sweeps.report`` calls), :func:`load_sweep`, :func:`write_report`, :func:`verdict_text`,
:class:`AnalysisSettings`; the pipeline itself is ``sweeps.analysis.analyze.analyze`` (its module
shares its name, so it is not re-exported here).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from sweeps.analysis.settings import AnalysisSettings, AsoSettings

# Loaded on first use: MLflow, pandas and scipy stay out of the CLI's fast paths.
_LAZY = {
    "Analysis": "analyze",
    "ReportError": "load",
    "SweepData": "load",
    "load_sweep": "load",
    "verdict_text": "render",
    "report_sweep": "report",
    "settings_for": "report",
    "write_report": "report",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"sweeps.analysis.{_LAZY[name]}"), name)
    raise AttributeError(name)

__all__ = [
    "Analysis",
    "AnalysisSettings",
    "AsoSettings",
    "ReportError",
    "SweepData",
    "load_sweep",
    "report_sweep",
    "settings_for",
    "verdict_text",
    "write_report",
]
