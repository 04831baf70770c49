"""Linear CKA (centered kernel alignment; Kornblith et al. 2019, "Similarity of Neural
Network Representations Revisited") between layers, from co-moments.

For centred activations X (n x p) and Y (n x q), linear CKA is
``||X^T Y||_F^2 / (||X^T X||_F ||Y^T Y||_F)``: 1 for representations that are the same
up to rotation and isotropic scaling, near 0 for unrelated ones (its bias grows with
p*q/n: unrelated layers of many units need many stimuli to score near 0). The blocks of
one co-moment of all layers' activations stacked together are exactly those products,
so every layer pair's CKA comes from the statistics the matching accumulates. This is
the plain (biased) estimator; the debiased one needs per-image kernel statistics that
are not kept.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def linear_cka(cross: np.ndarray, self_a: np.ndarray, self_b: np.ndarray) -> float:
    """CKA from the co-moment blocks X^T Y, X^T X and Y^T Y (centred); 0 if a side never varies."""
    scale = float(np.linalg.norm(self_a) * np.linalg.norm(self_b))
    return float(np.linalg.norm(cross) ** 2 / scale) if scale > 0 else 0.0


def cka_matrix(comoment: np.ndarray, blocks_a: Sequence[slice], blocks_b: Sequence[slice]) -> np.ndarray:
    """CKA of every block of ``blocks_a`` (rows) with every block of ``blocks_b``
    (columns), the blocks slicing one co-moment matrix."""
    return np.array([[linear_cka(comoment[a, b], comoment[a, a], comoment[b, b]) for b in blocks_b]
                     for a in blocks_a]).reshape(len(blocks_a), len(blocks_b))
