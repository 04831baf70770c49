"""Matching the features of two layers by the correlation of their activations: the best
one-to-one assignment (Hungarian: the pairing with the largest total correlation, via
``scipy.optimize.linear_sum_assignment``) and each feature's best partner on the other
side. Several features of one model sharing a best partner is redundancy (copies of one
feature), not a family; ``redundancy`` counts it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

Pair = tuple[int, int, float]  # (index on one side, index on the other, correlation)


@dataclass(frozen=True)
class Matching:
    """``assignment``: one-to-one pairs (row of A, column of B); ``best_a``: each row's
    best column; ``best_b``: each column's best row, as (column, row, correlation)."""

    assignment: list[Pair]
    best_a: list[Pair]
    best_b: list[Pair]


def match(corr: np.ndarray) -> Matching:
    """Match rows (features of A) with columns (features of B) of a correlation matrix.
    The assignment maximizes the summed signed correlation, so an anti-correlated pair
    is never preferred to an unrelated one."""
    rows, cols = linear_sum_assignment(corr, maximize=True)
    assignment = [(int(r), int(c), float(corr[r, c])) for r, c in zip(rows, cols)]
    best_cols = corr.argmax(axis=1) if corr.shape[1] else np.zeros(0, int)
    best_rows = corr.argmax(axis=0) if corr.shape[0] else np.zeros(0, int)
    best_a = [(r, int(c), float(corr[r, c])) for r, c in enumerate(best_cols)]
    best_b = [(c, int(r), float(corr[r, c])) for c, r in enumerate(best_rows)]
    return Matching(assignment, best_a, best_b)


def redundancy(best_a: list[Pair], columns: int, threshold: float) -> np.ndarray:
    """For each column (feature of B): how many rows (features of A) have it as their best
    partner with a correlation of at least ``threshold``."""
    counts = np.zeros(columns, dtype=np.int64)
    for _row, col, score in best_a:
        if score >= threshold:
            counts[col] += 1
    return counts


def partners_above(corr: np.ndarray, thresholds: Sequence[float]) -> list[int]:
    """For each threshold: how many rows (features of A) have a best partner among the
    columns (features of B) with a correlation of at least that threshold. Signed, as
    ``match`` is: an anti-correlated partner is no partner."""
    best = corr.max(axis=1) if corr.shape[1] else np.full(corr.shape[0], -np.inf)
    return [int((best >= t).sum()) for t in thresholds]
