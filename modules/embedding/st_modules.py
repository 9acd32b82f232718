"""sentence-transformers modules for exported embedding models (see ``export.py``).

An exported folder's ``modules.json`` names two classes of this file by import path, so loading it
with ``SentenceTransformer(path)`` needs this repository importable (run from the checkout root,
set ``PYTHONPATH``, or ``pip install -e .``):

- ``modules.embedding.st_modules.BackboneInput``: tokenizer + Hugging Face model, run with the
  trained attention mode (``attention`` in ``embedding_backbone_config.json``; ``packing:
  prepack`` runs each batch as packed rows). It passes the same explicit 4D mask as
  ``backbone.Backbone``, so a decoder trained bidirectionally stays
  bidirectional when loaded (sentence-transformers' own ``Transformer`` would run it causally).
  It outputs ``token_embeddings`` and ``all_layer_embeddings``.
- ``modules.embedding.st_modules.PoolerHead``: the pooler, rebuilt from its Hydra config
  (``_target_`` + kwargs, in ``config.json``; weights in ``model.safetensors``), followed by the
  projection head; outputs ``sentence_embedding`` (L2-normalized).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import torch
from sentence_transformers.base.modules import InputModule, Module

from modules.backbones.features import TokenFeatures
from modules.backbones.hf import Backbone, load_backbone
from modules.backbones.packing import DEFAULT_PACKING
from modules.embedding.model import ProjectionHead
from modules.embedding.poolers import build_pooler


def _folder(model_name_or_path: str, subfolder: str) -> Path:
    return Path(model_name_or_path) / subfolder if subfolder else Path(model_name_or_path)


class BackboneInput(InputModule):
    """Tokenizer + transformer under an explicit ``attention`` mode (causal or bidirectional)."""

    config_file_name = "embedding_backbone_config.json"
    config_keys = ["attention", "max_length", "packing"]
    save_in_root = True

    def __init__(self, backbone: Backbone) -> None:
        super().__init__()
        self.backbone = backbone

    @property
    def attention(self) -> str:
        return self.backbone.attention

    @property
    def max_length(self) -> int:
        return self.backbone.max_length

    @property
    def packing(self) -> str:
        return self.backbone.packing

    @property
    def max_seq_length(self) -> int:
        return self.backbone.max_length

    @property
    def tokenizer(self):  # noqa: D102
        return self.backbone.tokenizer

    def get_embedding_dimension(self) -> int:
        return self.backbone.hidden_size

    def preprocess(self, inputs, prompt: str | None = None, **kwargs: Any) -> dict[str, Any]:
        texts = [prompt + t for t in inputs] if prompt else list(inputs)
        return dict(self.backbone.tokenize(texts))

    def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        hidden = self.backbone.states(features["input_ids"], features["attention_mask"])
        features["token_embeddings"] = hidden[-1]
        features["all_layer_embeddings"] = hidden
        return features

    def save(
        self, output_path: str, *args: Any, safe_serialization: bool = True, **kw: Any
    ) -> None:
        weights = Path(self.backbone.source or "") / "model.safetensors"
        if self.backbone.source and weights.is_file():
            # unchanged weights (frozen regime): hard-link the cached file instead of a new copy
            Path(output_path).mkdir(parents=True, exist_ok=True)
            self.backbone.model.config.save_pretrained(output_path)
            target = Path(output_path) / "model.safetensors"
            if target.exists():  # a retried trial exports into the same folder
                target.unlink()
            try:
                os.link(weights, target)
            except OSError:
                shutil.copy2(weights, target)
        else:
            self.backbone.model.save_pretrained(output_path, safe_serialization=safe_serialization)
        self.backbone.tokenizer.save_pretrained(output_path)
        self.save_config(output_path)

    @classmethod
    def load(cls, model_name_or_path: str, subfolder: str = "", **kwargs: Any) -> BackboneInput:
        config = cls.load_config(model_name_or_path, subfolder=subfolder)
        folder = _folder(model_name_or_path, subfolder)
        packing = str(config.get("packing", DEFAULT_PACKING))  # folders exported before it existed
        return cls(
            load_backbone(
                str(folder), config["attention"], int(config["max_length"]), packing=packing
            )
        )


POOLER_PACKAGE = "modules.embedding.poolers."


class PoolerHead(Module):
    """The pooler (rebuilt from its config, ``_target_`` + kwargs) + the projection head ->
    ``sentence_embedding``."""

    config_keys = ["pooler_spec", "hidden_size", "num_layers", "head_dim"]

    def __init__(
        self,
        pooler_spec: dict[str, Any],
        hidden_size: int,
        num_layers: int,
        head_dim: int | None = None,
    ) -> None:
        super().__init__()
        target = str(pooler_spec.get("_target_", ""))
        if not target.startswith(POOLER_PACKAGE):  # a saved folder is data: import nothing else
            raise ValueError(f"this folder's pooler_spec names {target!r}, not a pooler of {POOLER_PACKAGE}")
        self.pooler = build_pooler(pooler_spec, hidden_size, num_layers)
        self.pooler_spec = self.pooler.spec
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.head = ProjectionHead(self.pooler.output_dim, head_dim)
        self.head_dim = self.head.linear.out_features

    def get_embedding_dimension(self) -> int:
        return self.head_dim

    def get_sentence_embedding_dimension(self) -> int:
        return self.head_dim

    def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        feats = TokenFeatures.from_hidden_states(
            features["all_layer_embeddings"], features["attention_mask"]
        ).to(torch.float32)
        features["sentence_embedding"] = self.head(self.pooler(feats))
        return features

    def save(
        self, output_path: str, *args: Any, safe_serialization: bool = True, **kw: Any
    ) -> None:
        self.save_config(output_path)
        self.save_torch_weights(output_path, safe_serialization=safe_serialization)

    @classmethod
    def load(cls, model_name_or_path: str, subfolder: str = "", **kwargs: Any) -> PoolerHead:
        config = cls.load_config(model_name_or_path, subfolder=subfolder)
        if "pooler_name" in config:
            raise ValueError(
                f"{model_name_or_path} was exported by an older version that named its pooler "
                f"{config['pooler_name']!r} in a registry that no longer exists; export it again"
            )
        module = cls(**config)
        cls.load_torch_weights(model_name_or_path, subfolder=subfolder, model=module)
        return module
