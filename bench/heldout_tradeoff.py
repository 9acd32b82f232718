"""Does training on STS-B triplets make a better general embedder, or only a better STS-B one?

Trains designs of the frozen `pooling_grid` study exactly as its trials do (same config, data,
feature cache) and prints, after every epoch, the STS-B test Spearman and the held-out Lee
document-similarity Spearman, against the untrained base model's Lee score. Optionally adds an
L2-SP penalty (Li et al., 2018, "Explicit Inductive Bias for Transfer Learning") pulling the
trained parameters toward their initialization, to trace the trade-off between the two, and
trains with or without the document crops mixed into the triplets (``--documents off on``:
``data.documents=null`` or ``data/documents=reuters_crops``; default: the preset's setting).

    python bench/heldout_tradeoff.py --output-dir outputs --design mean_causal --normalize zscore \
        --epochs 9 [--lr 1e-3] [--anchor 0 1] [--seed 0] [--documents off on] [--final-only]
    python bench/heldout_tradeoff.py --design all --normalize all --documents off on --final-only

The feature cache is the preset's (built on the first run of the preset in that output folder;
the crops add texts, so a new cache, which reuses the rows of the texts an older one holds).
"""

from __future__ import annotations

import argparse
import itertools
import sys

import lightning as L
import torch

from modules.backbones.factory import backbone_factory
from modules.embedding.task import base_encoder, reference_metrics
from sweeps.config import trial_config
from sweeps.errors import SweepConfigError


def anchor_and_report(module, strength: float, report) -> None:
    """Add an L2-SP penalty toward the initial weights to ``module``'s training step, and call
    ``report(epoch)`` after every training epoch."""
    start = {n: p.detach().clone() for n, p in module.named_parameters() if p.requires_grad}
    step = module.training_step

    def training_step(batch, batch_idx):
        loss = step(batch, batch_idx)
        if strength:
            drift = (((p - start[n]) ** 2).sum() for n, p in module.named_parameters() if n in start)
            loss = loss + strength * sum(drift)
        return loss

    module.training_step = training_step
    module.on_train_epoch_end = lambda: report(module.current_epoch + 1)


DESIGNS = ("eos_causal", "mean_causal", "latent_causal", "multilayer_causal")
NORMALIZATIONS = ("none", "zscore", "whiten")
DOCUMENTS = {"preset": [], "off": ["data.documents=null"], "on": ["data/documents=reuters_crops"]}


def run(args: argparse.Namespace, design: str, normalize: str, documents: str, anchor: float) -> None:
    from hydra.utils import instantiate

    from modules.backbones.token_cache import cache_key, load_or_build

    overrides = ["+experiment=pooling_grid", f"paths.output_dir={args.output_dir}", *DOCUMENTS[documents]]
    cfg = trial_config(overrides, {"design": design, "pooling.normalize": normalize, "seed": args.seed})
    L.seed_everything(args.seed, verbose=False)
    suite, data = instantiate(cfg.evaluation), instantiate(cfg.data)
    texts = [*data.texts(), *suite.texts()]
    b = cfg.backbone
    key = cache_key(str(b.name), str(b.attention), int(b.max_length), texts)
    cache = load_or_build(cfg.finetune.cache_dir, key, texts, backbone_factory(cfg))
    pooler = instantiate(cfg.pooling, hidden_size=cache.hidden_size, num_layers=cache.num_layers)
    optim = instantiate(cfg.optim)
    if args.lr is not None:
        optim.keywords["lr"] = args.lr
    module = instantiate(cfg.model, pooler=pooler, cache=cache, optimizer=optim)
    module.fit_normalizer(data.train_texts())
    base = reference_metrics(suite, base_encoder(module), "base")["heldout/lee/spearman_base"]

    def report(epoch: int) -> None:
        if args.final_only and epoch not in (0, args.epochs):
            return
        scores = reference_metrics(suite, module.encode, "x")
        print(
            f"{design:18s} {normalize:7s} documents {documents:6s} anchor {anchor:<6g} epoch {epoch:2d}: "
            f"STS-B test {scores['sts/stsb/spearman_x']:.3f}  Lee {scores['heldout/lee/spearman_x']:.3f}"
            f"  (base model's Lee {base:.3f})",
            flush=True,
        )

    anchor_and_report(module, anchor, report)
    report(0)
    trainer = L.Trainer(
        accelerator="cpu", max_epochs=args.epochs, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
    )
    trainer.fit(module, datamodule=data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", default="outputs")
    parser.add_argument("--design", nargs="+", default=["mean_causal"], help="or: all")
    parser.add_argument("--normalize", nargs="+", default=["zscore"], help="or: all")
    parser.add_argument("--documents", nargs="+", choices=sorted(DOCUMENTS), default=["preset"])
    parser.add_argument("--final-only", action="store_true", help="score epoch 0 and the last only")
    parser.add_argument("--epochs", type=int, default=9)
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--anchor", type=float, nargs="+", default=[0.0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    try:
        designs = DESIGNS if args.design == ["all"] else args.design
        normalizations = NORMALIZATIONS if args.normalize == ["all"] else args.normalize
        for design, normalize, documents, anchor in itertools.product(
            designs, normalizations, args.documents, args.anchor
        ):
            run(args, design, normalize, documents, anchor)
    except SweepConfigError as exc:  # an unknown design or normalization: one line
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
