"""A feature's activation distribution over a dataset, as stored beside its dataset
examples: the JSON blob ``histogram`` of an ``examples`` artifact.

For each image the examples run reads the feature's largest pre-activation over positions
(what ranks the top examples) and its smallest (what ranks the bottom ones). The blob
holds, for each of those two per-image statistics, a fixed number of equal bins (edges
and counts), the number of images, mean, standard deviation, minimum, maximum and a few
quantiles read from the bins. ``atlas.compute.activation_histogram`` writes it; this module
reads it back, and a blob that is not exactly that shape (an old artifact, a hand-made
bundle) reads as None: a page then shows no histogram, never an error.
"""

from __future__ import annotations

import json
import math

from atlas.catalog.records import ActivationDistribution

HISTOGRAM_BLOB = "histogram"  # its name in an examples artifact's blobs
HISTOGRAM_BINS = 40
QUANTILES = (0.01, 0.1, 0.5, 0.9, 0.99)
STATISTICS = ("max", "min")  # per image: the largest and the smallest pre-activation over positions
MAX_HISTOGRAM_BYTES = 64 * 1024
MAX_STORED_BINS = 1_000


def encode_histogram(distributions: dict[str, ActivationDistribution]) -> bytes:
    """The JSON blob of a feature's distributions (``{"max": ..., "min": ...}``)."""
    return json.dumps({name: {
        "count": d.count, "edges": list(d.edges), "counts": list(d.counts), "mean": d.mean, "std": d.std,
        "min": d.minimum, "max": d.maximum, "quantiles": [[q, v] for q, v in d.quantiles],
    } for name, d in distributions.items()}, sort_keys=True).encode()


def decode_histogram(data: bytes) -> dict[str, ActivationDistribution] | None:
    """The distributions in a stored blob, or None unless it is well formed (see module doc)."""
    if len(data) > MAX_HISTOGRAM_BYTES:
        return None
    try:
        stored = json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(stored, dict):
        return None
    out = {}
    for name in STATISTICS:
        found = _distribution(stored.get(name))
        if found is not None:
            out[name] = found
    return out or None


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _distribution(value: object) -> ActivationDistribution | None:
    if not isinstance(value, dict):
        return None
    edges, counts, quantiles = value.get("edges"), value.get("counts"), value.get("quantiles")
    figures = [value.get(k) for k in ("mean", "std", "min", "max")]
    if (not isinstance(edges, list) or not isinstance(counts, list) or not isinstance(quantiles, list)
            or not 1 <= len(counts) <= MAX_STORED_BINS or len(edges) != len(counts) + 1
            or not all(_finite(e) for e in edges) or any(b <= a for a, b in zip(edges, edges[1:]))
            or not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts)
            or not all(_finite(f) for f in figures)
            or not all(isinstance(q, list) and len(q) == 2 and all(_finite(x) for x in q) for q in quantiles)
            or value.get("count") != sum(counts)):
        return None
    mean, std, low, high = (float(f) for f in figures)  # type: ignore[arg-type]
    return ActivationDistribution(sum(counts), tuple(float(e) for e in edges), tuple(counts), mean, std, low, high,
                                  tuple((float(q), float(v)) for q, v in quantiles))
