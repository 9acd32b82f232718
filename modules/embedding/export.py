"""Export a trained embedding model as a sentence-transformers folder.

The folder holds two custom modules (``st_modules.BackboneInput`` then ``st_modules.PoolerHead``);
``SentenceTransformer(folder, trust_remote_code=True)`` reproduces ``EmbeddingModule.encode`` (same
attention mode, pooler and head), given this repository on the import path. sentence-transformers
6 asks for ``trust_remote_code=True`` before importing any module class outside its own package,
also from a local folder (``load_exported`` passes it). LoRA adapters are merged into the backbone
weights first, so the folder holds a plain transformers model.
"""

from __future__ import annotations

from pathlib import Path

from modules.backbones.hf import Backbone
from modules.embedding.model import EmbeddingModel
from modules.embedding.st_modules import BackboneInput, PoolerHead

EXPORT_NAME = "sentence_transformer"


def merged_backbone(backbone: Backbone) -> Backbone:
    """The backbone with any peft LoRA adapter merged into plain weights."""
    model = backbone.model
    if not hasattr(model, "merge_and_unload"):
        return backbone
    merged = model.merge_and_unload()
    return Backbone(merged, backbone.tokenizer, backbone.attention, backbone.max_length)


def to_sentence_transformer(model: EmbeddingModel, backbone: Backbone | None = None):
    """A ``SentenceTransformer`` equal to ``model`` (``backbone`` if the model holds none)."""
    from sentence_transformers import SentenceTransformer

    backbone = backbone or model.backbone
    if backbone is None:
        raise ValueError("exporting needs the backbone")
    pooler = model.pooler
    if pooler.spec is None:
        raise ValueError("exporting needs a pooler built from its config by build_pooler")
    head = PoolerHead(
        pooler.spec, pooler.hidden_size, pooler.num_layers, model.head.linear.out_features
    )
    head.pooler.load_state_dict(pooler.state_dict())
    head.head.load_state_dict(model.head.state_dict())
    return SentenceTransformer(
        modules=[BackboneInput(merged_backbone(backbone)), head], device="cpu"
    )


def load_exported(path: str | Path, device: str = "cpu"):
    """Load an exported folder (its module classes live in this repository)."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(path), device=device, trust_remote_code=True)


def export_sentence_transformer(
    model: EmbeddingModel, folder: str | Path, backbone: Backbone | None = None
) -> Path:
    """Save ``model`` to ``folder / sentence_transformer`` and return that path."""
    path = Path(folder) / EXPORT_NAME
    to_sentence_transformer(model, backbone).save(str(path))
    return path
