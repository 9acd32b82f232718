"""Poolers: token states -> one L2-normalized vector per text. Importing this package registers
every pooler (``POOLERS``); build one with ``build_pooler(name, hidden_size, num_layers, ...)``."""

from modules.embedding.poolers import basic, gem, latent, multilayer  # noqa: F401  (registration)
from modules.embedding.poolers.registry import POOLERS, Pooler, build_pooler, register

__all__ = ["POOLERS", "Pooler", "build_pooler", "register"]
