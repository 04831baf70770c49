"""From a comparison's merged moments to its results: every feature pair's correlation
(pooled over positions, and per position where the maps match), the matchings, and the
CKA of every layer pair. A layer's directions take part as features next to its units:
their activations are read-outs of the units', so their statistics follow from the same
moments (``moments.read_out``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from atlas.compute.universality.assignment import Matching, match
from atlas.compute.universality.cka import cka_matrix
from atlas.compute.universality.measure import ChunkMoments, blocks
from atlas.compute.universality.moments import correlation, read_out

Target = int | str  # a unit by channel, a direction by name


@dataclass(frozen=True)
class Comparison:
    """``targets_a``/``targets_b``: the matched features (rows, columns of ``correlation``);
    ``matches`` by space (``pooled``, ``spatial``); ``cka``: layers_a x layers_b."""

    targets_a: list[Target]
    targets_b: list[Target]
    correlation: dict[str, np.ndarray]
    matches: dict[str, Matching]
    cka: np.ndarray
    images: int


def _readout(units: int, directions: dict[str, np.ndarray]) -> tuple[list[Target], np.ndarray]:
    """The features of a layer as read-outs of its units: identity rows, then directions."""
    names = sorted(directions)
    rows = [np.eye(units)] + [np.asarray(directions[n], np.float64).reshape(1, units) for n in names]
    return [*range(units), *names], np.vstack(rows)


def analyse(stats: ChunkMoments, layers_a: list[str], layers_b: list[str], matched_a: str, matched_b: str,
            directions_a: dict[str, np.ndarray], directions_b: dict[str, np.ndarray]) -> Comparison:
    """Correlate, match and compare (see the module doc)."""
    blocks_a = blocks(stats.widths_a)
    blocks_b = blocks(stats.widths_b, sum(stats.widths_a))
    _mean, pooled = stats.pooled.arrays()
    a, b = blocks_a[layers_a.index(matched_a)], blocks_b[layers_b.index(matched_b)]
    targets_a, readout_a = _readout(a.stop - a.start, directions_a)
    targets_b, readout_b = _readout(b.stop - b.start, directions_b)
    spaces = {"pooled": (pooled, a, b)}
    if stats.spatial is not None:
        _mean, spatial = stats.spatial.arrays()
        width_a = a.stop - a.start
        spaces["spatial"] = (spatial, slice(0, width_a), slice(width_a, spatial.shape[0]))
    correlations = {space: correlation(*read_out(comoment, sa, sb, readout_a, readout_b))
                    for space, (comoment, sa, sb) in spaces.items()}
    return Comparison(targets_a, targets_b, correlations,
                      {space: match(corr) for space, corr in correlations.items()},
                      cka_matrix(pooled, blocks_a, blocks_b), stats.pooled.n)
