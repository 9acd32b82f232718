"""Model soups over a finished sweep (Wortsman et al., ICML 2022): uniform and greedy weight
averages of the trials' fine-tuned weights, evaluated through the study's task and logged as extra
child runs. ``python -m sweeps.soup`` (see :mod:`sweeps.soup.__main__`) or ``sweep.soup=...``."""

from __future__ import annotations

from sweeps.soup.cook import CHOICES, RECIPES, cook_soups, recipes_of

__all__ = ["CHOICES", "RECIPES", "cook_soups", "recipes_of"]
