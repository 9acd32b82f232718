"""The V-measure difference ``V(A', target) - V(B', target)`` of a batch of swap resamples.

V-measure (Rosenberg & Hirschberg, 2007) depends on the contingency counts of (label, cluster).
Both sides of a resample together hold every example's two entries, so B's counts are the fixed
totals minus A's: one ``np.bincount`` per resample over the cells that can occur, and entropies
from a lookup table of ``k log k`` (``H = log n - sum k log k / n``) instead of logs per cell. The
target's entropy is the same on every resample. Equal to :func:`v_measure_batched` (tests).
"""

from __future__ import annotations

import numpy as np


class VMeasureDifference:
    """``f(boolean swaps, resamples x examples) -> V(A') - V(B')``."""

    def __init__(self, a: np.ndarray, b: np.ndarray, target: np.ndarray) -> None:
        n = len(a)
        _, labels = np.unique(np.asarray(target), return_inverse=True)
        _, clusters = np.unique(np.concatenate([a, b]), return_inverse=True)
        _, cells = np.unique(np.stack([np.concatenate([labels, labels]), clusters]), axis=1, return_inverse=True)
        cells, clusters = cells.astype(np.int32), clusters.astype(np.int32)  # where() on small ints
        self.cell_a, self.cell_b = cells[:n], cells[n:]
        self.cluster_a, self.cluster_b = clusters[:n], clusters[n:]
        self.n_cells, self.n_clusters = int(cells.max()) + 1, int(clusters.max()) + 1
        self.cell_total = np.bincount(cells, minlength=self.n_cells)
        self.cluster_total = np.bincount(clusters, minlength=self.n_clusters)
        k = np.arange(n + 1, dtype=float)
        self.klogk = k * np.log(np.maximum(k, 1))
        self.n = n
        self.h_label = self._entropy(np.bincount(labels)[None, :])[0]

    def __call__(self, swap: np.ndarray) -> np.ndarray:
        cells = self._counts(np.where(swap, self.cell_b, self.cell_a), self.n_cells)
        clusters = self._counts(np.where(swap, self.cluster_b, self.cluster_a), self.n_clusters)
        return self._v(cells, clusters) - self._v(self.cell_total - cells, self.cluster_total - clusters)

    def _counts(self, codes: np.ndarray, size: int) -> np.ndarray:
        offsets = np.arange(codes.shape[0], dtype=np.int32)[:, None] * np.int32(size)
        return np.bincount((codes + offsets).ravel(), minlength=codes.shape[0] * size).reshape(-1, size)

    def _entropy(self, counts: np.ndarray) -> np.ndarray:
        """Shannon entropy (nats) of each row of counts that sum to n. One class only gives 0 up to
        rounding; the smallest positive entropy, (n-1, 1), is about (log n + 1) / n."""
        entropy = np.log(self.n) - self.klogk[counts].sum(axis=1) / self.n
        return np.where(entropy > 1e-9, entropy, 0.0)

    def _v(self, cells: np.ndarray, clusters: np.ndarray) -> np.ndarray:
        h_cluster = self._entropy(clusters)
        mutual = self.h_label + h_cluster - self._entropy(cells)
        homogeneity = mutual / self.h_label if self.h_label > 0 else np.ones(len(cells))
        completeness = np.where(h_cluster > 0, mutual / np.where(h_cluster > 0, h_cluster, 1), 1.0)
        total = homogeneity + completeness
        return np.where(total > 0, 2 * homogeneity * completeness / np.where(total > 0, total, 1), 0.0)
