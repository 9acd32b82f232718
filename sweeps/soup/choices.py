"""The soup recipes a sweep can ask for (``sweep.soup``), without importing the soup machinery."""

from __future__ import annotations

RECIPES = ("uniform", "greedy")
CHOICES = ("none", *RECIPES, "both")
