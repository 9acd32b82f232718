"""The embedding study's task (Tang & Yang, 2024, arXiv 2409.02727): build the backbone (or its
frozen feature cache), the pooler and the data; fit the pooler's feature normalization on the
training texts; score two untrained references; fit with the sweep's callbacks; evaluate with the
evaluation suite (STS, retrieval, classification, clustering, held-out document similarity);
write per-example scores; export a sentence-transformers folder; return every score.

The references, on the suite's similarity tasks (STS-B test, held-out): ``<metric>_untrained``,
this design before training (normalization fitted, pooler and head at their initialization), and
``<metric>_base``, the base model as a user would try it untrained (the last layer's mean,
unnormalized). A trained design should beat both (the preset's ``analysis.sanity`` checks it).

Config groups read: ``backbone`` (source, attention, max_length), ``finetune`` (regime, cache),
``pooling`` (a pooler class by ``_target_``), ``model`` (the LightningModule), ``data`` (a
``TripletDataModule``), ``evaluation`` (an ``EvaluationSuite``), ``optim``, ``trainer``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from omegaconf import DictConfig, OmegaConf

from modules.backbones.factory import backbone_factory
from modules.backbones.regimes import apply_regime
from modules.backbones.token_cache import cache_key, load_or_build
from modules.contract.per_example import write_per_example
from modules.contract.run import RunContext
from modules.embedding.module import EmbeddingModule
from modules.embedding.poolers import build_pooler
from modules.embedding.poolers.basic import MeanPooler


def reference_metrics(suite: Any, encode: Callable, suffix: str) -> dict[str, float]:
    """The suite's similarity-task scores of ``encode``, each named ``<metric>_<suffix>``."""
    results = suite.run(encode, suite.reference_evaluators)
    return {f"{r.metric}_{suffix}": float(r.value) for r in results}


def base_encoder(module: EmbeddingModule) -> Callable:
    """The untrained base model's encoder: mean of the last layer, no normalization, no head
    training (the identity head), over the same backbone or feature cache as ``module``."""
    mean = {"_target_": f"{MeanPooler.__module__}.{MeanPooler.__qualname__}"}
    pooler = build_pooler(mean, module.model.pooler.hidden_size)
    base = EmbeddingModule(pooler, backbone=module.model.backbone, cache=module.cache)
    return base.encode


class EmbeddingTask:
    """Fit one pooling x attention design, then evaluate and export it."""

    resumes_from_checkpoints = True  # its Trainer gets ctx.callbacks and fits from ctx.resume_from

    def run(self, cfg: DictConfig, ctx: RunContext) -> dict[str, float]:
        from hydra.utils import instantiate

        suite = instantiate(cfg.evaluation)
        data = instantiate(cfg.data)
        regime = str(cfg.finetune.regime)
        build_backbone = backbone_factory(cfg)
        backbone, cache = None, None
        if regime == "frozen":
            texts = [*data.texts(), *suite.texts()]
            b = cfg.backbone
            key = cache_key(str(b.name), str(b.attention), int(b.max_length), texts)
            cache = load_or_build(
                cfg.finetune.cache_dir,
                key,
                texts,
                build_backbone,
                int(cfg.finetune.get("cache_batch_size", 32)),
                int(cfg.finetune.get("cache_shards", 1)),
            )
            hidden_size, num_layers = cache.hidden_size, cache.num_layers
        else:
            lora = cfg.finetune.get("lora")
            backbone = apply_regime(
                build_backbone(), regime, OmegaConf.to_container(lora) if lora is not None else None
            )
            hidden_size, num_layers = backbone.hidden_size, backbone.num_layers
        pooler = build_pooler(cfg.pooling, hidden_size, num_layers)
        module = instantiate(
            cfg.model,
            pooler=pooler,
            backbone=backbone,
            cache=cache,
            optimizer=instantiate(cfg.optim),
            val_pairs=data.dev_pairs,
        )
        module.fit_normalizer(data.train_texts())
        references = {
            **reference_metrics(suite, module.encode, "untrained"),
            **reference_metrics(suite, base_encoder(module), "base"),
        }
        trainer = ctx.trainer(cfg)
        ctx.fit(trainer, module, datamodule=data)

        results = suite.run(module.encode)
        write_per_example(results, ctx.artifact_dir)
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/")}
        metrics.update(references)
        for result in results:
            metrics.update(result.metrics())
        if cfg.finetune.get("export", True):
            from modules.embedding.export import export_sentence_transformer

            export_sentence_transformer(
                module.model, ctx.artifact_dir, None if module.model.backbone else build_backbone()
            )
        return metrics
