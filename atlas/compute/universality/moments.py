"""Streaming second moments: the count, the mean and the co-moment (the sum of outer
products of deviations from the mean) of a stream of vectors.

Comparing two layers needs, for every pair of their features, a correlation over the
stimulus set; the co-moment of the two layers' activations stacked into one vector holds
all of them (and, for linear CKA, everything else needed), so the activations are never
kept: each batch is reduced to its own moments, centred on its own mean, and merged
(Chan, Golub and LeVeque's pairwise update), which stays exact where raw sums of squares
lose the digits of a pre-activation with a large offset. Chunks merge the same way, in
any order. Sums are float64 on the activations' device.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class Moments:
    """``n`` vectors of dimension ``len(mean)``: their ``mean`` and ``comoment``
    (``sum (x - mean)(x - mean)^T``)."""

    n: int
    mean: torch.Tensor
    comoment: torch.Tensor

    @classmethod
    def empty(cls, dim: int, device: str | torch.device = "cpu") -> Moments:
        zeros = torch.zeros(dim, dtype=torch.float64, device=device)
        return cls(0, zeros, torch.zeros(dim, dim, dtype=torch.float64, device=device))

    @classmethod
    def of(cls, rows: torch.Tensor) -> Moments:
        """The moments of the rows of ``rows`` (n x dim)."""
        rows = rows.to(torch.float64)
        mean = rows.mean(dim=0)
        centred = rows - mean
        return cls(rows.shape[0], mean, centred.T @ centred)

    def add(self, rows: torch.Tensor) -> None:
        """Take in a batch of rows (n x dim)."""
        if rows.shape[0]:
            self.merge(Moments.of(rows.to(self.mean.device)))

    def merge(self, other: Moments) -> None:
        """Take in the moments of other rows (another batch, another chunk)."""
        if other.n == 0:
            return
        if self.n == 0:
            self.n, self.mean, self.comoment = other.n, other.mean.clone(), other.comoment.clone()
            return
        n = self.n + other.n
        delta = other.mean.to(self.mean.device) - self.mean
        self.comoment += other.comoment.to(self.mean.device) + torch.outer(delta, delta) * (self.n * other.n / n)
        self.mean += delta * (other.n / n)
        self.n = n

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(mean, comoment) as float64 arrays, for the blob store."""
        return self.mean.cpu().numpy(), self.comoment.cpu().numpy()

    @classmethod
    def from_arrays(cls, n: int, mean: np.ndarray, comoment: np.ndarray) -> Moments:
        return cls(int(n), torch.from_numpy(np.asarray(mean, np.float64)),
                   torch.from_numpy(np.asarray(comoment, np.float64)))


def correlation(cross: np.ndarray, var_a: np.ndarray, var_b: np.ndarray) -> np.ndarray:
    """Pearson correlations from a co-moment block ``cross`` (a x b) and the two sides'
    own co-moments' diagonals; a feature that never varies correlates 0 with everything."""
    scale = np.sqrt(np.outer(np.maximum(var_a, 0.0), np.maximum(var_b, 0.0)))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.clip(np.where(scale > 0, cross / np.where(scale > 0, scale, 1.0), 0.0), -1.0, 1.0)


def read_out(comoment: np.ndarray, a: slice, b: slice, readout_a: np.ndarray,
             readout_b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The co-moments of linear read-outs of two blocks of features: for features
    ``R_a x_a`` and ``R_b x_b`` (a layer's units are the identity rows, its directions
    their vectors), ``R_a M_ab R_b^T`` and the two sides' variances. A direction's
    activation is linear in its layer's, so its statistics follow from the units' ones."""
    cross = readout_a @ comoment[a, b] @ readout_b.T
    var_a = np.einsum("ij,jk,ik->i", readout_a, comoment[a, a], readout_a)
    var_b = np.einsum("ij,jk,ik->i", readout_b, comoment[b, b], readout_b)
    return cross, var_a, var_b
