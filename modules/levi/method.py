"""One option of ``conf/levi/``: the settings of LEVI (Roh et al., ICML 2024) or of a baseline, as
a dataclass whose defaults every option starts from (each YAML file states only its differences).
``model.py`` explains the network these settings switch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from modules.backbones.regimes import REGIMES


@dataclass
class LeviMethod:
    """LEVI or a baseline (Roh et al., ICML 2024): how the backbone trains and what the head sees.

    ``regime``: frozen (cached per-layer features) | lora | full. ``layers``: hidden states of the
    backbone to adapt (0 = embeddings, the depth = the last); [] = none. ``small``: the model
    trained from scratch, a ``_target_`` node (``conf/levi/small/``) built by the task, or None.
    ``hidden``: adapter MLP width (0 = linear). ``aux_weight > 0`` adds the adapters' own
    cross-entropies to the shared loss. ``lr`` trains the adapters and the small model,
    ``backbone_lr`` the backbone (full) or the LoRA weights. ``cache_dir``: the frozen regime's
    per-layer feature cache (None: ``<paths.output_dir>/cache/features``).
    """

    regime: str = "frozen"
    layers: list[int] = field(default_factory=lambda: [6])
    small: Any = None
    hidden: int = 0
    dropout: float = 0.1
    aux_weight: float = 0.0
    lr: float = 1e-3
    backbone_lr: float = 5e-5
    max_epochs: int = 20
    batch_size: int = 32
    lora: dict[str, Any] | None = None
    cache_dir: str | None = None
    cache_batch_size: int = 32

    def check(self, depth: int) -> list[int]:
        """The chosen layers, after checking the settings against a backbone of ``depth`` layers
        (before any expensive work)."""
        if self.regime not in REGIMES:
            raise ValueError(f"levi.regime must be one of {REGIMES}, got {self.regime!r}")
        layers = [int(i) for i in self.layers]
        bad = [i for i in layers if not 0 <= i <= depth]
        if bad:
            raise ValueError(f"levi.layers {bad} out of range: the backbone has layers 0..{depth}")
        if not layers and self.small is None:
            raise ValueError("levi: no pretrained layer and no small model")
        return layers
