"""The embedding task end to end (stand-in data and evaluation), frozen cache and LoRA, and the
presets' composition."""

from __future__ import annotations

from modules.task import RunContext
from sweeps.config import compose_config, resolve

FAST = ["trainer.max_epochs=1", "data.batch_size=4", "backbone.max_length=16"]


def _cfg(conf, tmp_path, *overrides):
    base = ["+experiment=pooling_grid", f"paths.output_dir={tmp_path / 'out'}", *FAST]
    return resolve(compose_config([*base, *overrides], conf))


def test_pooling_grid_is_seven_designs_times_three_seeds(stand_ins, tmp_path):
    from sweeps.space import build_param_space, flatten_space

    cfg = _cfg(stand_ins, tmp_path)
    space = flatten_space(cfg.sweep.space)
    assert list(space) == ["design"]
    params = build_param_space(space, list(cfg.sweep.seeds))
    designs = params["design"]["grid_search"]
    assert len(designs) == 7 and len(params["seed"]["grid_search"]) == 3
    combos = set()
    for design in designs:
        c = _cfg(stand_ins, tmp_path, f"design={design}")
        combos.add((c.pooling._target_.rsplit(".", 1)[1], c.backbone.attention))
        if "multilayer" in design:
            assert c.pooling.attention == c.backbone.attention
    assert len(combos) == 7
    assert ("LastTokenPooler", "causal") in combos
    assert cfg.sweep.metric == "sts/stsb/spearman" and cfg.sweep.mode == "max"
    assert cfg.finetune.regime == "frozen" and cfg.backbone.name == "smollm2_135m"


def test_frozen_task_caches_once_and_exports(stand_ins, tmp_path, monkeypatch):
    from sentence_transformers import SentenceTransformer

    from modules.embedding import cache as cache_mod
    from modules.embedding.task import EmbeddingTask

    calls = []
    real = cache_mod.compute_features
    monkeypatch.setattr(
        cache_mod, "compute_features", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    metrics = {}
    for i, design in enumerate(["multilayer_bidirectional", "mean_bidirectional"]):
        cfg = _cfg(stand_ins, tmp_path, "backbone=minilm_l6", f"design={design}")
        ctx = RunContext(artifact_dir=tmp_path / f"trial{i}")
        metrics[design] = EmbeddingTask().run(cfg, ctx)
        assert (ctx.artifact_dir / "per_example" / "index.json").exists()
        st = SentenceTransformer(
            str(ctx.artifact_dir / "sentence_transformer"), device="cpu", trust_remote_code=True
        )
        assert st.encode(["hello"]).shape[1] == 384
    assert len(calls) == 1  # the second design reused the cache
    for m in metrics.values():
        assert {
            "sts/stsb/spearman",
            "retrieval/stsb/ndcg_at_10",
            "retrieval/stsb/mrr_at_10",
            "val/loss",
            "val/sts_spearman",
        } <= set(m)


def test_lora_preset_runs_at_tiny_scale(stand_ins, tmp_path):
    """The LoRA preset's regime end to end, on MiniLM to keep it fast (LoRA on the SmolLM2
    backbone: test_embedding_regimes.py)."""
    from modules.embedding.task import EmbeddingTask

    cfg = resolve(
        compose_config(
            [
                "+experiment=pooling_grid_lora",
                f"paths.output_dir={tmp_path / 'out'}",
                "design=multilayer_bidirectional",
                "backbone=minilm_l6",
                "backbone.max_length=16",
                "data.batch_size=4",
                "data.train_limit=16",
            ],
            stand_ins,
        )
    )
    assert cfg.finetune.regime == "lora" and cfg.finetune.lora.r == 16
    metrics = EmbeddingTask().run(cfg, RunContext(artifact_dir=tmp_path / "trial"))
    assert "sts/stsb/spearman" in metrics
    assert (tmp_path / "trial" / "sentence_transformer" / "model.safetensors").exists()


def test_checkpoint_leaves_out_frozen_backbone_weights(minilm_path):
    from modules.embedding.backbone import load_backbone
    from modules.embedding.module import EmbeddingModule
    from modules.embedding.poolers import build_pooler
    from modules.embedding.regimes import apply_regime

    backbone = apply_regime(
        load_backbone(minilm_path, "bidirectional", 16),
        "lora",
        {"r": 4, "lora_alpha": 8, "lora_dropout": 0.1},
    )
    module = EmbeddingModule(build_pooler("mean", backbone.hidden_size), backbone=backbone)
    checkpoint = {"state_dict": module.state_dict()}
    module.on_save_checkpoint(checkpoint)
    keys = set(checkpoint["state_dict"])
    assert any("lora_A" in k for k in keys) and "model.head.linear.weight" in keys
    assert not any(k.endswith("base_layer.weight") for k in keys)
    module.load_state_dict(checkpoint["state_dict"], strict=False)
