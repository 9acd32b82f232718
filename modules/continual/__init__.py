"""Continual learning on pretrained backbones: class-incremental scenarios, metrics, and the
methods NMC (Janson et al., 2022), SLCA (Zhang et al., ICCV 2023) and TEEN (Wang et al.,
NeurIPS 2023)."""
