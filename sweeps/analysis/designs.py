"""Design strings (``key=value,key=value``, the child runs' ``design`` tag) as sets of parts."""

from __future__ import annotations

import re


def design_key(design: str) -> frozenset[str]:
    """The ``key=value`` parts of a design string, in any order (values may contain commas)."""
    return frozenset(part.strip() for part in re.split(r",(?=[\w.+~-]+=)", design) if part.strip())


def matches(design: str, wanted: str) -> bool:
    """Whether ``design`` contains every ``key=value`` part of ``wanted`` (a subset match)."""
    return design_key(wanted) <= design_key(design)
