"""Classification models for small tabular/vector inputs (the smoke study)."""
