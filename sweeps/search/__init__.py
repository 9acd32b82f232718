"""Model-based search over ``sweep.space``: TPE (Optuna) and BOHB, with seeds as repeats.

``dimensions`` reads the Hydra expressions into searcher-neutral dimensions (checked before Ray
starts), ``optuna_space`` and ``bohb_space`` turn them into each library's space, ``repeats`` runs
each proposed configuration once per seed and tells the searcher the seed-mean, ``build`` wires it
into the Tuner.
"""

from __future__ import annotations

SEARCHERS = ("optuna", "bohb")  # sweep.search values that propose configurations from a model
