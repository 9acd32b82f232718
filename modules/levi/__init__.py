"""LEVI (Roh et al., ICML 2024): layer-wise ensembles of a pretrained model and a small model
trained from scratch, on two out-of-distribution 20 Newsgroups benchmarks (held-out newsgroups,
``data.py``; a flipped spurious word, ``spurious.py``), against linear probing,
full and LoRA fine-tuning and the small model alone (see ``model.py`` and ``task.py``)."""
