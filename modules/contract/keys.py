"""Names both sides of the contract agree on: the final-report key and the MLflow tag names."""

from __future__ import annotations

FINAL_KEY = "final"  # present in a trial's last report only: the task returned, its metrics are final

DESIGN_TAG = "design"  # a child run's design (every swept value but the seed)
SEED_TAG = "seed"  # a child run's seed
TRIAL_ID_TAG = "ray.trial_id"  # a child run's Ray trial id: a resumed sweep finds its runs by it
SWEEP_TAG = "sweep.name"  # a parent run's sweep name
SOUP_TAG = "soup"  # a soup's recipe, on the child runs that ``python -m sweeps.soup`` writes
