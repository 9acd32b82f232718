"""Statistical comparison of a sweep's designs: designs × seeds → CIs, tests, Holm, verdicts.

Public API: :func:`report_sweep` (what the runner calls at the end of a sweep and what
``python -m sweeps.report`` calls), :func:`load_sweep`, :func:`analyze`, :func:`write_report`,
:func:`verdict_text`, :class:`AnalysisSettings`.
"""

from __future__ import annotations

from sweeps.analysis.analyze import Analysis, analyze
from sweeps.analysis.load import ReportError, SweepData, load_sweep
from sweeps.analysis.render import verdict_text
from sweeps.analysis.report import report_sweep, settings_for, write_report
from sweeps.analysis.settings import AnalysisSettings, AsoSettings

__all__ = [
    "Analysis",
    "AnalysisSettings",
    "AsoSettings",
    "ReportError",
    "SweepData",
    "analyze",
    "load_sweep",
    "report_sweep",
    "settings_for",
    "verdict_text",
    "write_report",
]
