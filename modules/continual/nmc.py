"""The nearest-mean classifier on a frozen pretrained backbone.

Janson, Zhang, Aljundi & Elhoseiny, 2022, "A Simple Baseline that Questions the Use of
Pretrained-Models in Continual Learning" (NeurIPS 2022 workshop, arXiv 2210.04428): no training —
features from a frozen pretrained model are L2-normalized, each class keeps the mean of its
features (a running sum and count, so means are updated as classes — or more examples of a known
class — arrive), and a test example takes the class of the nearest mean. Reported: 88.53% on
10-Split CIFAR-100 with a ViT-B/16 pretrained on ImageNet-21k.

``metric="euclidean"`` (default) compares the normalized feature with each mean by Euclidean
distance; ``metric="cosine"`` normalizes the means too and takes the largest cosine similarity.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


class NearestMeanClassifier:
    """Class means of L2-normalized features, updated incrementally; predicts original class ids."""

    def __init__(self, normalize: bool = True, metric: str = "euclidean") -> None:
        if metric not in ("euclidean", "cosine"):
            raise ValueError(f"metric must be 'euclidean' or 'cosine', got {metric!r}")
        self.normalize = normalize
        self.metric = metric
        self._sums: dict[int, torch.Tensor] = {}
        self._counts: dict[int, int] = {}

    @property
    def classes(self) -> list[int]:
        """Class ids in the order they arrived (the row order of :meth:`means`)."""
        return list(self._sums)

    def _prep(self, features: torch.Tensor) -> torch.Tensor:
        x = features.detach().to(torch.float64)
        return F.normalize(x, dim=-1) if self.normalize else x

    def update(self, features: torch.Tensor, labels: torch.Tensor) -> None:
        """Add examples to their classes' running sums (new classes get a mean)."""
        x = self._prep(features)
        labels = torch.as_tensor(labels)
        for c in torch.unique(labels).tolist():
            rows = x[labels == c]
            if c in self._sums:
                self._sums[c] = self._sums[c] + rows.sum(0)
                self._counts[c] += len(rows)
            else:
                self._sums[c] = rows.sum(0)
                self._counts[c] = len(rows)

    def means(self) -> torch.Tensor:
        """``[num_classes, dim]`` class means, rows in :attr:`classes` order."""
        return torch.stack([self._sums[c] / self._counts[c] for c in self._sums])

    def scores(self, features: torch.Tensor) -> torch.Tensor:
        """``[n, num_classes]`` scores (higher is nearer): negative distance or cosine."""
        x, means = self._prep(features), self.means()
        if self.metric == "cosine":
            return F.normalize(x, dim=-1) @ F.normalize(means, dim=-1).T
        return -torch.cdist(x, means)

    def predict(self, features: torch.Tensor) -> torch.Tensor:
        """The class id of the nearest mean for each row."""
        if not self._sums:
            raise RuntimeError("no class means yet: call update() first")
        index = self.scores(features).argmax(dim=1)
        return torch.as_tensor(self.classes)[index]
