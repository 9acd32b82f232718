"""The embedding task end to end on tiny real data (frozen cache and LoRA), and the presets'
composition."""

from __future__ import annotations

from modules.contract.run import RunContext
from sweeps.config import compose_config, resolve
from tests.modules.embedding.conftest import TINY_DATA

FAST = ["trainer.max_epochs=1", "backbone.max_length=16", *TINY_DATA]
REFERENCES = {
    "sts/stsb/spearman_untrained",
    "sts/stsb/spearman_base",
    "heldout/lee/spearman_untrained",
    "heldout/lee/spearman_base",
}


def _cfg(tmp_path, *overrides, preset: str = "pooling_grid"):
    base = [f"+experiment={preset}", f"paths.output_dir={tmp_path / 'out'}", *FAST]
    return resolve(compose_config([*base, *overrides]))


def _designs(cfg) -> list[dict[str, str]]:
    from sweeps.space import build_param_space, flatten_space

    params = build_param_space(flatten_space(cfg.sweep.space), list(cfg.sweep.seeds))
    keys = [k for k in params if k != "seed"]
    combos = [{}]
    for key in keys:
        combos = [{**c, key: v} for c in combos for v in params[key]["grid_search"]]
    return combos


def test_frozen_preset_varies_pooling_and_normalization_under_causal_attention(tmp_path):
    cfg = _cfg(tmp_path)
    designs = _designs(cfg)
    assert cfg.finetune.regime == "frozen" and cfg.backbone.name == "smollm2_135m"
    assert cfg.sweep.metric == "sts/stsb/spearman" and list(cfg.sweep.seeds) == [0, 1, 2]
    seen = set()
    for design in designs:
        c = _cfg(tmp_path, *(f"{k}={v}" for k, v in design.items()))
        assert c.backbone.attention == "causal"
        seen.add((c.pooling._target_.rsplit(".", 1)[1], c.pooling.normalize))
    poolers = {p for p, _ in seen}
    assert poolers == {"LastTokenPooler", "MeanPooler", "LatentAttentionPooler", "MultiLayerPooler"}
    assert {n for _, n in seen} == {"none", "zscore", "whiten"} and len(seen) == len(designs)
    assert cfg.evaluation.heldout is True
    kinds = {(s.kind, s.metric, s.get("than")) for s in cfg.analysis.sanity}
    assert ("above", "heldout/lee/spearman", "heldout/lee/spearman_base") in kinds
    assert ("above", "sts/stsb/spearman", "sts/stsb/spearman_untrained") in kinds


def test_document_crops_are_a_data_option_seeded_by_the_split(tmp_path):
    on = _cfg(tmp_path, "data/documents=reuters_crops", "data.split_seed=3").data.documents
    assert on._target_ == "modules.data.crops.reuters_crop_triplets" and on.seed == 3
    assert on.pairs == 1406 and on.span_words == 32
    assert _cfg(tmp_path, "data.documents=null").data.documents is None


def test_lora_preset_varies_attention_and_pooling(tmp_path):
    cfg = _cfg(tmp_path, preset="pooling_grid_lora")
    assert cfg.finetune.regime == "lora" and cfg.finetune.lora.r == 16
    attentions = set()
    for design in _designs(cfg):
        c = _cfg(tmp_path, *(f"{k}={v}" for k, v in design.items()), preset="pooling_grid_lora")
        attentions.add(c.backbone.attention)
    assert attentions == {"causal", "bidirectional"}


def test_frozen_task_caches_once_reports_references_and_exports(tmp_path, monkeypatch):
    from sentence_transformers import SentenceTransformer

    from modules.backbones import token_cache as cache_mod
    from modules.embedding.task import EmbeddingTask

    calls = []
    real = cache_mod.compute_features
    monkeypatch.setattr(
        cache_mod, "compute_features", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    metrics = {}
    for i, design in enumerate(["multilayer_causal", "mean_causal"]):
        cfg = _cfg(tmp_path, "backbone=minilm_l6", f"design={design}", "pooling.normalize=whiten")
        ctx = RunContext(artifact_dir=tmp_path / f"trial{i}")
        metrics[design] = EmbeddingTask().run(cfg, ctx)
        assert (ctx.artifact_dir / "per_example" / "index.json").exists()
        st = SentenceTransformer(
            str(ctx.artifact_dir / "sentence_transformer"), device="cpu", trust_remote_code=True
        )
        assert st.encode(["hello"]).shape[1] == 384
        assert "normalizer.transform" in st[1].pooler.state_dict()
        if i == 0:
            built = len(calls)
    assert len(calls) == built == cfg.finetune.cache_shards  # the second design reused the cache
    for m in metrics.values():
        assert {
            "sts/stsb/spearman",
            "retrieval/stsb/ndcg_at_10",
            "classification/20ng/accuracy",
            "clustering/20ng/v_measure",
            "heldout/lee/spearman",
            "val/loss",
            "val/sts_spearman",
            *REFERENCES,
        } <= set(m)
    # the base reference does not depend on the design
    for key in ("sts/stsb/spearman_base", "heldout/lee/spearman_base"):
        assert abs(metrics["mean_causal"][key] - metrics["multilayer_causal"][key]) < 1e-6


def test_lora_preset_runs_at_tiny_scale(tmp_path):
    """The LoRA preset's regime end to end, on MiniLM to keep it fast (LoRA on the SmolLM2
    backbone: test_embedding_regimes.py)."""
    from modules.embedding.task import EmbeddingTask

    cfg = _cfg(
        tmp_path, "design=multilayer_bidirectional", "backbone=minilm_l6", preset="pooling_grid_lora"
    )
    metrics = EmbeddingTask().run(cfg, RunContext(artifact_dir=tmp_path / "trial"))
    assert {"sts/stsb/spearman", "heldout/lee/spearman", *REFERENCES} <= set(metrics)
    assert (tmp_path / "trial" / "sentence_transformer" / "model.safetensors").exists()


def test_checkpoint_leaves_out_frozen_backbone_weights(minilm_path):
    from modules.backbones.hf import load_backbone
    from modules.backbones.regimes import apply_regime
    from modules.embedding.module import EmbeddingModule
    from tests.modules.embedding.pooling import make_pooler

    backbone = apply_regime(
        load_backbone(minilm_path, "bidirectional", 16),
        "lora",
        {"r": 4, "lora_alpha": 8, "lora_dropout": 0.1},
    )
    module = EmbeddingModule(make_pooler("mean", backbone.hidden_size, 0), backbone=backbone)
    checkpoint = {"state_dict": module.state_dict()}
    module.on_save_checkpoint(checkpoint)
    keys = set(checkpoint["state_dict"])
    assert any("lora_A" in k for k in keys) and "model.head.linear.weight" in keys
    assert not any(k.endswith("base_layer.weight") for k in keys)
    module.load_state_dict(checkpoint["state_dict"], strict=False)
