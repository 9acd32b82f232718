"""Orchestration: search space, trials, Ray, MLflow, analysis. Knows no research method by name."""
