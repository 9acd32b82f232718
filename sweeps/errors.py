"""The one error type the command line turns into a single clear line and exit code 2."""

from __future__ import annotations


class SweepConfigError(Exception):
    """Bad input found before any expensive work: unknown key, malformed expression, missing data."""
