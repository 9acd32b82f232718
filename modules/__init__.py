"""Research code: Lightning modules, models, data and evaluation. Knows nothing of Ray or MLflow."""
