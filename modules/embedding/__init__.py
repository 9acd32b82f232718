"""LLM-based text embeddings: pooling x attention (Tang & Yang, 2024, "Pooling And Attention: What
Are Effective Designs For LLM-Based Embedding Models?", arXiv 2409.02727).

backbone.py  a Hugging Face model with a causal/bidirectional attention switch (explicit 4D mask)
bundled.py   bundled backbones (SmolLM2-135M from GGUF, all-MiniLM-L6-v2), no downloads
features.py  what poolers read (last-layer tokens + per-layer EOS / mean vectors)
poolers/     the pooler registry: mean, first, last_token, weighted_mean, gem, ggem,
             latent_attention, multilayer
loss.py      InfoNCE with in-batch and hard negatives
cache.py     the frozen regime's on-disk feature cache
regimes.py   frozen / LoRA / full fine-tuning
model.py     pooler + projection head (+ backbone);  module.py  the LightningModule
datamodule.py  training triplets and STS-B dev pairs
export.py, st_modules.py  sentence-transformers export;  task.py  the study's Task
"""
