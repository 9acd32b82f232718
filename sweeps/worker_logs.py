"""A trial worker's output kept to warnings (the driver shows Tune's live trial table instead).
Imports nothing heavy at module level: the Tune trial of a multi-worker trial calls it too."""

from __future__ import annotations

import logging
import os
import warnings


def quiet_worker_logs() -> None:
    """Keep trial output to warnings: the driver shows Tune's live trial table instead."""
    for name in ("lightning.pytorch", "lightning.fabric", "ray.train", "ray.tune"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*weights_only.*")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    # transformers draws a "Loading weights" bar per model load; Ray forwards each redraw as a line.
    # huggingface_hub reads the variable once, at import: the calls cover an import that came first
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from huggingface_hub.utils import disable_progress_bars
    from transformers.utils import logging as transformers_logging

    disable_progress_bars()
    transformers_logging.disable_progress_bar()
