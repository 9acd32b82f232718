"""MTEB-style evaluators (Muennighoff et al., 2023, "MTEB: Massive Text Embedding Benchmark"):
STS, retrieval, classification, clustering. Each returns its main score and per-example data so
that paired significance tests can resample examples."""
