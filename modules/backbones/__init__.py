"""Frozen and trainable backbones shared by every study; studies import these, never each other.

hf.py           a Hugging Face model with the one causal/bidirectional attention switch (explicit 4D mask)
bundled.py      bundled backbones resolved to local folders (SmolLM2-135M from GGUF, all-MiniLM-L6-v2), no downloads
regimes.py      frozen / LoRA / full fine-tuning of a backbone
factory.py      ``cfg.backbone`` → a loader of the backbone (what the embedding and LEVI tasks build)
packing.py      Prepacking: first-fit decreasing bins, block-diagonal mask, restarted positions, unpacking
encode.py       the one loop that encodes a text list as ``backbone.packing`` says (none | sort | prepack)
features.py     what poolers read of a backbone (last-layer tokens + per-layer EOS / mean vectors)
token_cache.py  those features of a fixed text list, computed once on disk (sharded across trials)
cache.py        the one cached-features helper: content key, file lock, atomic write, tqdm progress
"""
