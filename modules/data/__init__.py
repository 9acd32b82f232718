"""Datasets and Lightning data modules; bundled data first, hub loaders for networked users."""
