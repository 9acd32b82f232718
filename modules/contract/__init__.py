"""The contract between the research side (``modules/``) and the orchestration (``sweeps/``).

Both sides import it; neither owns it. It depends on no study and on neither Ray nor MLflow.

- :mod:`modules.contract.keys`: the final-report key and the MLflow tag names (no heavy imports,
  so the driver's light paths can read them).
- :mod:`modules.contract.run`: :class:`~modules.contract.run.RunContext` (what a trial hands a
  task, with the ``trainer``/``fit`` factory that attaches the sweep's callbacks and resume path)
  and the task protocols.
- :mod:`modules.contract.per_example`: the one writer/reader pair for per-example scores.
- :mod:`modules.contract.weights`: the one writer/reader pair for a trial's weights (model soups).
"""
