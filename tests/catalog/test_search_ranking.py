"""Search ranks what a researcher means first, measured: a judged query set over the
InceptionV1 seed (queries with the units a researcher expects on top, from the published
articles the seed cites) scored by nDCG@10, on both databases. Target: 0.9 or better for
every query."""

from __future__ import annotations

import math

from atlas import Catalog

CURVE_DETECTORS = [f"inceptionv1/mixed3b/{u}" for u in (379, 406, 385, 343, 342, 388, 324, 340, 330, 349)]
EARLY_CURVES = [f"inceptionv1/mixed3a/{u}" for u in (81, 104, 92, 145, 95, 163, 171, 71, 147, 189, 137)]
HIGH_LOW = [f"inceptionv1/mixed3a/{u}"
            for u in (136, 108, 132, 88, 110, 180, 153, 186, 86, 117, 112, 70, 106, 113, 160)]
SUPERPOSED = [f"inceptionv1/mixed4d/{u}" for u in (241, 277, 417)]
JUDGED = {
    "curve detector": CURVE_DETECTORS,  # Curve Detectors: the ten of mixed3b
    "curve": CURVE_DETECTORS,  # the curve detectors, before shallow curves, early curves and families
    "early curve": EARLY_CURVES,  # Curve Circuits: the early curves of mixed3a
    "high-low": HIGH_LOW,  # High-Low Frequency Detectors: mixed3a (the early-overview list of 15)
    "high-low frequency": HIGH_LOW,
    "polysemantic": SUPERPOSED,  # Zoom In: dogs, with cars in superposition
}
TARGET = 0.9


def ndcg_at_10(ranked: list[str], relevant: list[str]) -> float:
    """Binary-gain nDCG@10: 1.0 when the first min(10, |relevant|) results are all relevant."""
    gains = [1.0 if target in relevant else 0.0 for target in ranked[:10]]
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
    ideal = sum(1 / math.log2(i + 2) for i in range(min(10, len(relevant))))
    return dcg / ideal


def test_ndcg_scores_orders_as_it_should():
    relevant = ["a", "b"]
    assert ndcg_at_10(["a", "b", "x"], relevant) == 1.0
    assert ndcg_at_10(["x", "a", "b"], relevant) < ndcg_at_10(["a", "x", "b"], relevant) < 1.0
    assert ndcg_at_10(["x"] * 10 + ["a", "b"], relevant) == 0.0


def test_judged_queries_rank_the_expected_units_first(seeded_inception: Catalog):
    catalog = seeded_inception
    scores = {}
    for query, relevant in JUDGED.items():
        ranked = [hit.target for hit in catalog.search(query, limit=10) if hit.kind == "label"]
        scores[query] = round(ndcg_at_10(ranked, relevant), 3)
    assert all(score >= TARGET for score in scores.values()), scores
