"""Poolers: token states -> one L2-normalized vector per text. Each is a class named by
``_target_`` in ``conf/pooling/``; build one with ``build_pooler(config, hidden_size, num_layers)``."""

from modules.embedding.poolers.base import Pooler, build_pooler

__all__ = ["Pooler", "build_pooler"]
