"""The fine-tuning study's task: fine-tune a text classifier from a shared initialization, score
it on held-out and test data, save its trained weights for model soups.

Per trial: train ``trainer.max_epochs`` epochs on the training split (the data order follows the
trial seed; the initialization follows ``model.init_seed``), then evaluate on the held-out split
(``heldout/acc``, ``heldout/loss``: the sweep's selection metric) and the test split
(``test/acc``, ``test/loss``). ``artifact_dir`` receives the trained weights
(``weights.safetensors``, with the initial weights' fingerprint in ``weights.json``, see
:func:`modules.contract.weights.save_weights`) and per-example test correctness (``per_example/``, metric
``test/acc``). :meth:`FineTuneTask.evaluate_weights` scores any weights of the same model, which is
how ``python -m sweeps.soup`` evaluates uniform and greedy soups (Wortsman et al., ICML 2022).

Config read: ``model`` (a :class:`~modules.classification.text_classifier.TextClassifier`),
``data`` (a :class:`~modules.classification.text_data.TextSplits` factory), ``optim``,
``trainer``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from modules.classification.text_classifier import TextClassifier, TextClassifierModule, predict
from modules.classification.text_data import TextSplits
from modules.contract.per_example import write_per_example
from modules.contract.run import RunContext
from modules.contract.weights import init_fingerprint, save_weights
from modules.evaluation.result import EvalResult


class FineTuneTask:
    """Fine-tune, evaluate on held-out and test data, save the trained weights (soup-ready)."""

    resumes_from_checkpoints = True  # its Trainer gets ctx.callbacks and fits from ctx.resume_from

    def run(self, cfg: DictConfig, ctx: RunContext) -> dict[str, float]:
        from hydra.utils import instantiate

        data, classifier = self._build(cfg)
        init = init_fingerprint(classifier.trainable_state_dict())
        module = TextClassifierModule(classifier, instantiate(cfg.optim))
        ctx.fit(ctx.trainer(cfg), module, train_dataloaders=data.loader("train", shuffle=True))
        metrics, correct = evaluate(classifier, data)
        save_weights(ctx.artifact_dir, classifier.trainable_state_dict(), init,
                     init_seed=int(cfg.model.init_seed))
        write_test_scores(ctx.artifact_dir, correct)
        return metrics

    def evaluate_weights(
        self,
        cfg: DictConfig,
        state_dict: dict[str, torch.Tensor],
        splits: Sequence[str] = ("heldout", "test"),
    ) -> dict[str, float]:
        """``{split}/acc`` and ``{split}/loss`` of the model with ``state_dict`` as its trained
        weights (data and model are built once per task object and config)."""
        key = OmegaConf.to_yaml(cfg.data) + OmegaConf.to_yaml(cfg.model)
        if self._built is None or self._built[0] != key:
            self._built = (key, *self._build(cfg))
        _, data, classifier = self._built
        classifier.load_trainable(state_dict)
        return evaluate(classifier, data, splits)[0]

    _built: tuple[str, TextSplits, TextClassifier] | None = None

    @staticmethod
    def _build(cfg: DictConfig) -> tuple[TextSplits, TextClassifier]:
        from hydra.utils import instantiate

        data: TextSplits = instantiate(cfg.data)
        return data, instantiate(cfg.model, num_classes=data.num_classes)


def evaluate(
    classifier: TextClassifier, data: TextSplits, splits: Sequence[str] = ("heldout", "test")
) -> tuple[dict[str, float], np.ndarray]:
    """(``{split}/{acc,loss}`` per split, per-example correctness on the last split)."""
    metrics: dict[str, float] = {}
    correct = np.zeros(0)
    for split in splits:
        preds, targets, loss = predict(classifier, data.loader(split))
        hits = (preds == targets).astype(float)
        metrics[f"{split}/acc"] = float(hits.mean())
        metrics[f"{split}/loss"] = float(loss)
        correct = hits
    return metrics, correct


def write_test_scores(folder, correct: np.ndarray) -> None:
    """Per-example test correctness (metric ``test/acc``, statistic mean) for the paired tests."""
    write_per_example([EvalResult.from_correct("test/acc", correct)], folder)
