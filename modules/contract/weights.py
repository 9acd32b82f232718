"""A trial's weights on disk (model soups): the one writer and the one reader.

A task whose trials fine-tune one architecture from one initialization writes its weights with
:func:`save_weights`; ``python -m sweeps.soup`` reads them with :func:`load_weights` and checks
that every ingredient shares the initialization (:func:`init_fingerprint`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch

WEIGHTS_FILE = "weights.safetensors"
WEIGHTS_INFO_FILE = "weights.json"


def init_fingerprint(state_dict: dict[str, torch.Tensor]) -> str:
    """A digest of a state dict's names, shapes, dtypes and values (of the initial weights)."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().cpu().contiguous()
        digest.update(f"{name}|{tuple(tensor.shape)}|{tensor.dtype}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


def save_weights(
    folder: Path, state_dict: dict[str, torch.Tensor], init: str, **info: Any
) -> None:
    """Write ``weights.safetensors`` and ``weights.json`` (``init_fingerprint`` + ``info``)."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in state_dict.items()}
    save_file(tensors, str(folder / WEIGHTS_FILE))
    meta = {"init_fingerprint": init, **info}
    (folder / WEIGHTS_INFO_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")


def load_weights(folder: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(state dict, info) as written by :func:`save_weights`."""
    from safetensors.torch import load_file

    folder = Path(folder)
    info = json.loads((folder / WEIGHTS_INFO_FILE).read_text())
    return load_file(str(folder / WEIGHTS_FILE)), info
