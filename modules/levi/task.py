"""The LEVI study's task: fit one method on the in-distribution newsgroups, then measure accuracy
in distribution (ID test) and out of distribution (OOD test) and the gap between them.

Config read: ``data`` (an :class:`~modules.levi.data.OODSplit`: held-out newsgroups,
:func:`~modules.levi.data.newsgroups_ood`, or a flipped artefact word,
:func:`~modules.levi.spurious.newsgroups_spurious`), ``backbone`` (source, attention, max_length;
the project's MiniLM by default), ``levi`` (a :class:`~modules.levi.method.LeviMethod`: ``regime``
frozen|lora|full, ``layers``, ``small``, ``hidden``, learning rates, epochs; ``conf/levi/``),
``optim`` (its ``lr`` is replaced by ``levi.lr``), ``trainer``.

With a frozen backbone the per-layer masked means come from the project's feature cache
(``modules/backbones/token_cache.py``: computed once for every text of the split, shared by every frozen
trial); LoRA and full fine-tuning run the backbone live. Returns ``id/acc``, ``ood/acc``, ``gap``
(ID - OOD) and the OOD accuracy per super-category; writes per-example correctness on both test
sets to ``artifact_dir/per_example`` (metrics ``ood/acc`` and ``id/acc``).
"""

from __future__ import annotations

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from modules.backbones.factory import backbone_factory, backbone_source
from modules.backbones.regimes import apply_regime
from modules.backbones.token_cache import cache_key, load_or_build
from modules.contract.run import RunContext
from modules.levi.data import GroupedTexts, OODSplit
from modules.levi.method import LeviMethod
from modules.levi.model import LayerwiseEnsemble, PretrainedLayers
from modules.levi.module import LeviModule, loader, predict

PARTS = ("train", "val", "id_test", "ood_test")


def backbone_depth(cfg: DictConfig) -> int:
    from transformers import AutoConfig

    return int(AutoConfig.from_pretrained(backbone_source(cfg.backbone.source)).num_hidden_layers)


class LeviTask:
    """Fit a LEVI method or baseline; report ID accuracy, OOD accuracy and the gap."""

    resumes_from_checkpoints = True  # its Trainer gets ctx.callbacks and fits from ctx.resume_from

    def run(self, cfg: DictConfig, ctx: RunContext) -> dict[str, float]:
        from hydra.utils import instantiate

        method: LeviMethod = instantiate(cfg.levi, _recursive_=False)
        layers = method.check(backbone_depth(cfg))
        split: OODSplit = instantiate(cfg.data)
        parts = {name: getattr(split, name) for name in PARTS}
        inputs: dict[str, dict[str, torch.Tensor]] = {
            name: {"label": torch.tensor(data.labels, dtype=torch.long)}
            for name, data in parts.items()
        }
        small = instantiate(method.small) if method.small is not None else None
        if small is not None:
            for name, data in parts.items():
                inputs[name]["ngrams"] = small.encode(data.texts)
        pretrained, hidden_size = None, 0
        if layers and method.regime == "frozen":
            hidden_size = self.cached_layers(cfg, method, split, parts, layers, inputs)
        elif layers:
            lora = method.lora
            backbone = apply_regime(
                backbone_factory(cfg)(),
                method.regime,
                OmegaConf.to_container(lora) if lora is not None else None,
            )
            pretrained, hidden_size = PretrainedLayers(backbone, layers), backbone.hidden_size
            for name, data in parts.items():
                enc = backbone.tokenize(data.texts)
                inputs[name]["input_ids"] = enc["input_ids"]
                inputs[name]["attention_mask"] = enc["attention_mask"]
        net = LayerwiseEnsemble(
            len(split.label_names),
            len(layers),
            hidden_size,
            small,
            method.hidden,
            method.dropout,
        )
        module = LeviModule(
            net,
            instantiate(cfg.optim, lr=method.lr),
            pretrained,
            backbone_lr=method.backbone_lr,
            aux_weight=method.aux_weight,
        )
        bs = method.batch_size
        ctx.fit(
            ctx.trainer(cfg, max_epochs=method.max_epochs),
            module,
            train_dataloaders=loader(inputs["train"], bs, shuffle=True),
            val_dataloaders=loader(inputs["val"], 4 * bs),
        )
        pred_id = predict(module, loader(inputs["id_test"], 4 * bs))
        pred_ood = predict(module, loader(inputs["ood_test"], 4 * bs))
        return self.score(split, pred_id, pred_ood, ctx)

    @staticmethod
    def cached_layers(
        cfg: DictConfig,
        method: LeviMethod,
        split: OODSplit,
        parts: dict[str, GroupedTexts],
        layers: list[int],
        inputs: dict[str, dict[str, torch.Tensor]],
    ) -> int:
        """Look the chosen layers' masked means up in the frozen feature cache (built once)."""
        b, texts = cfg.backbone, split.texts()
        key = cache_key(str(b.name), str(b.attention), int(b.max_length), texts)
        folder = method.cache_dir or f"{cfg.paths.output_dir}/cache/features"
        cache = load_or_build(folder, key, texts, backbone_factory(cfg), method.cache_batch_size)
        for name, data in parts.items():
            rows = torch.tensor([cache.row[t] for t in data.texts], dtype=torch.long)
            inputs[name]["pretrained"] = cache.layer_mean[rows][:, layers].float()
        return int(cache.layer_mean.shape[-1])

    @staticmethod
    def score(
        split: OODSplit, pred_id: np.ndarray, pred_ood: np.ndarray, ctx: RunContext
    ) -> dict[str, float]:
        from modules.contract.per_example import write_per_example
        from modules.evaluation.result import EvalResult

        results = [
            EvalResult.from_correct(metric, pred == np.asarray(data.labels), group=data.groups)
            for metric, data, pred in (
                ("id/acc", split.id_test, pred_id),
                ("ood/acc", split.ood_test, pred_ood),
            )
        ]
        write_per_example(results, ctx.artifact_dir)
        metrics = {r.metric: r.value for r in results}
        metrics["gap"] = metrics["id/acc"] - metrics["ood/acc"]
        labels = np.asarray(split.ood_test.labels)
        for c, name in enumerate(split.label_names):
            metrics[f"ood/acc_{name}"] = float((pred_ood[labels == c] == c).mean())
        return metrics
