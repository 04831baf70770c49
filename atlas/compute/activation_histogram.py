"""Streamed histograms of each feature's per-image activation over a dataset.

The examples run sees every image once, batch by batch, and must not keep one number per
image and feature (memory would grow with the dataset). Each feature row keeps a fixed
number of equal bins instead, exact counts of the values seen so far. Bins are half-open,
[a, b). The first batch sets a row's range; a later value outside it widens the range by
doubling the bin width on that side, which merges neighbouring bins pairwise. The width
is a power of two and the edges multiples of it, so every edge is an exact float and a
value on an edge is in the same bin before and after a merge: the counts are exactly
those of a histogram over the final edges, and the values span at least a quarter of
the range. Mean and standard deviation come from
running sums, the extremes are exact, the quantiles are read from the final bins
(linearly within a bin). Non-finite values are not counted.
"""

from __future__ import annotations

import math

import numpy as np

from atlas.catalog.histogram import HISTOGRAM_BINS, QUANTILES
from atlas.catalog.records import ActivationDistribution


class RunningHistogram:
    """Per row (feature), exact counts of streamed values in ``bins`` equal bins."""

    def __init__(self, rows: int, bins: int = HISTOGRAM_BINS):
        if bins < 2 or bins % 2:
            raise ValueError(f"bins must be even and at least 2, got {bins}")
        self.bins = bins
        self.counts = np.zeros((rows, bins), dtype=np.int64)
        self.low = np.zeros(rows)
        self.width = np.zeros(rows)  # 0 until a row has seen a finite value
        self.total = np.zeros(rows)
        self.squares = np.zeros(rows)
        self.minimum = np.full(rows, np.inf)
        self.maximum = np.full(rows, -np.inf)

    def update(self, values: np.ndarray) -> None:
        """Count ``values``, shape (images, rows)."""
        values = np.asarray(values, dtype=np.float64).T
        finite = np.isfinite(values)
        safe = np.where(finite, values, 0.0)
        low = np.where(finite, values, np.inf).min(axis=1)
        high = np.where(finite, values, -np.inf).max(axis=1)
        for row in np.flatnonzero(np.isfinite(low)):
            self._cover(int(row), float(low[row]), float(high[row]))
        low_edge, width = self.low[:, None], np.where(self.width > 0, self.width, 1.0)[:, None]
        index = np.floor((safe - low_edge) / width)
        # The division may round across an edge: settle on the edges as stored (low + width * i).
        index -= safe < low_edge + width * index
        index += safe >= low_edge + width * (index + 1)
        index = np.clip(index, 0, self.bins - 1).astype(np.int64) + np.arange(len(values))[:, None] * self.bins
        self.counts += np.bincount(index.ravel(), weights=finite.ravel(),
                                   minlength=self.counts.size).astype(np.int64).reshape(self.counts.shape)
        self.total += safe.sum(axis=1)
        self.squares += (safe ** 2).sum(axis=1)
        self.minimum = np.minimum(self.minimum, low)
        self.maximum = np.maximum(self.maximum, high)

    def _cover(self, row: int, low: float, high: float) -> None:
        """Widen ``row``'s range until it holds [low, high]."""
        if self.width[row] == 0:
            width = 2.0 ** math.ceil(math.log2(max((high - low) / self.bins, 1e-6 * max(1.0, abs(low)))))
            while math.floor(low / width) * width + self.bins * width <= high:
                width *= 2
            self.low[row], self.width[row] = math.floor(low / width) * width, width
            return
        half = self.bins // 2
        while low < self.low[row] or high >= self.low[row] + self.bins * self.width[row]:
            merged = self.counts[row].reshape(half, 2).sum(axis=1)
            if low < self.low[row]:  # the old range becomes the upper half
                self.counts[row] = np.concatenate([np.zeros(half, np.int64), merged])
                self.low[row] -= self.bins * self.width[row]
            else:  # the old range becomes the lower half
                self.counts[row] = np.concatenate([merged, np.zeros(half, np.int64)])
            self.width[row] *= 2

    def distribution(self, row: int) -> ActivationDistribution | None:
        """Row ``row``'s distribution, or None if it saw no finite value."""
        count = int(self.counts[row].sum())
        if count == 0:
            return None
        edges = self.low[row] + self.width[row] * np.arange(self.bins + 1)
        mean = self.total[row] / count
        std = float(np.sqrt(max(self.squares[row] / count - mean ** 2, 0.0)))
        return ActivationDistribution(count, tuple(edges.tolist()), tuple(self.counts[row].tolist()), float(mean),
                                      std, float(self.minimum[row]), float(self.maximum[row]),
                                      tuple((q, _quantile(edges, self.counts[row], q)) for q in QUANTILES))


def _quantile(edges: np.ndarray, counts: np.ndarray, q: float) -> float:
    """The ``q`` quantile of binned values, linear within the bin that holds it."""
    cumulative = np.concatenate([[0], np.cumsum(counts)])
    return float(np.interp(q * cumulative[-1], cumulative, edges))
