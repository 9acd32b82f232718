"""Clustering: k-means on embeddings with as many clusters as labels, scored by V-measure
(Rosenberg & Hirschberg, 2007), as in MTEB's clustering tasks."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import v_measure_score

from modules.data.newsgroups import TextDataset
from modules.evaluation.result import Encoder, EvalResult


class ClusteringEvaluator:
    """k-means (``n_init`` restarts, fixed ``seed``); per example: cluster id and label."""

    def __init__(
        self, data: TextDataset, n_init: int = 10, seed: int = 0, name: str = "20ng"
    ) -> None:
        self.n_clusters = len(set(data.labels))
        if self.n_clusters < 2:
            raise ValueError("clustering needs at least two labels")
        self.data, self.n_init, self.seed, self.name = data, n_init, seed, name

    def texts(self) -> list[str]:
        """Every text this evaluator encodes."""
        return list(self.data.texts)

    def evaluate(self, encode: Encoder) -> EvalResult:
        x = np.asarray(encode(list(self.data.texts)), dtype=np.float64)
        kmeans = KMeans(n_clusters=self.n_clusters, n_init=self.n_init, random_state=self.seed)
        clusters = kmeans.fit_predict(x)
        target = np.asarray(self.data.labels)
        frame = pd.DataFrame(
            {"example_id": np.arange(len(target)), "prediction": clusters, "target": target}
        )
        return EvalResult(
            metric=f"clustering/{self.name}/v_measure",
            value=float(v_measure_score(target, clusters)),
            per_example=frame,
            statistic="v_measure",
        )
