"""Model soups over a finished sweep (Wortsman et al., ICML 2022): uniform and greedy weight
averages of the trials' fine-tuned weights, evaluated through the study's task and logged as extra
child runs. ``python -m sweeps.soup`` (see :mod:`sweeps.soup.__main__`) or ``sweep.soup=...``."""

from __future__ import annotations

from typing import Any

from sweeps.soup.choices import CHOICES, RECIPES

__all__ = ["CHOICES", "RECIPES", "cook_soups", "recipes_of"]


def __getattr__(name: str) -> Any:
    """``cook_soups`` and ``recipes_of`` import torch and MLflow: loaded on first use only, so the
    CLI can name the recipes without them."""
    if name in ("cook_soups", "recipes_of"):
        from sweeps.soup import cook

        return getattr(cook, name)
    raise AttributeError(name)
