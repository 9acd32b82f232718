"""LLM-based text embeddings: pooling x attention (Tang & Yang, 2024, "Pooling And Attention: What
Are Effective Designs For LLM-Based Embedding Models?", arXiv 2409.02727). The backbones, their
features and the frozen feature cache are in :mod:`modules.backbones`.

poolers/     mean, first, last_token, weighted_mean, gem, ggem, latent_attention, multilayer;
             each built from its ``conf/pooling/`` file by ``build_pooler`` (Hydra ``_target_``)
loss.py      InfoNCE with in-batch and hard negatives
model.py     pooler + projection head (+ backbone);  module.py  the LightningModule
datamodule.py  training triplets and STS-B dev pairs
export.py, st_modules.py  sentence-transformers export;  task.py  the study's Task
"""
