"""The distribution of each feature's per-image score over a dataset, streamed into fixed
bins during the dataset-examples pass: exact counts against a brute-force histogram over
the same edges, on the shipped demo model and real synthetic images; stored beside the
examples and read back; a malformed stored blob reads as no histogram."""

from __future__ import annotations

import json

import numpy as np
import pytest

from atlas import Catalog
from atlas.catalog.histogram import HISTOGRAM_BINS, decode_histogram
from atlas.compute.activation_histogram import RunningHistogram
from atlas.compute.capture import collect_activations
from atlas.compute.datasets import SyntheticShapes
from atlas.compute.examples import store_examples, top_examples
from atlas.compute.models import load_model

IMAGES = 96


def brute_counts(values: np.ndarray, edges: tuple[float, ...]) -> list[int]:
    return np.histogram(values, bins=np.asarray(edges))[0].tolist()


def test_streamed_bins_are_exact_whatever_the_order():
    """Batches that keep widening the range to both sides still count exactly."""
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(0, 0.01, 10), rng.normal(5, 3, 300), [-40.0, 90.0, np.nan]])
    histogram = RunningHistogram(1)
    for start in range(0, len(values), 7):
        histogram.update(values[start:start + 7, None])
    found = histogram.distribution(0)
    finite = values[np.isfinite(values)]
    assert found is not None and found.count == len(finite) == sum(found.counts)
    assert len(found.counts) == HISTOGRAM_BINS and found.counts == tuple(brute_counts(finite, found.edges))
    assert found.minimum == -40.0 and found.maximum == 90.0
    assert found.mean == pytest.approx(finite.mean()) and found.std == pytest.approx(finite.std())
    nonempty = [i for i, c in enumerate(found.counts) if c]
    assert nonempty[-1] - nonempty[0] + 1 >= HISTOGRAM_BINS // 4  # the values span a quarter of the range or more


def test_examples_record_each_units_distribution_over_the_dataset(demo_catalog: Catalog):
    model, _ = load_model("demo")
    data = SyntheticShapes(IMAGES, seed=5)
    units = [0, 3, 7]
    result = top_examples(model, "conv3", data, units=units, k=4, batch_size=10)
    maps = collect_activations(model, ["conv3"], data, batch_size=10, reduction=None,  # the same batches
                               site="pre")["conv3"].flatten(2).numpy()
    for row, unit in enumerate(units):
        spread = result.distributions[row]
        top, bottom = spread["max"], spread["min"]
        assert top.count == bottom.count == sum(top.counts) == IMAGES
        assert top.counts == tuple(brute_counts(maps[:, unit].max(1), top.edges))
        assert bottom.counts == tuple(brute_counts(maps[:, unit].min(1), bottom.edges))
        assert top.mean == pytest.approx(float(maps[:, unit].max(1).mean()), rel=1e-5)
        best = float(result.top[row]["value"][0])
        last = max(i for i, c in enumerate(top.counts) if c)
        assert top.bin_of(best) == last and best == pytest.approx(top.maximum)
        worst = float(result.bottom[row]["value"][0])
        assert bottom.bin_of(worst) == min(i for i, c in enumerate(bottom.counts) if c)
        median = dict(top.quantiles)[0.5]
        assert top.minimum <= median <= top.maximum

    assert store_examples(demo_catalog, "demo", result, {"dataset": f"synthetic:{IMAGES}", "k": 4}) == 3
    [found] = demo_catalog.dataset_examples("demo/conv3/3")
    assert found.distributions["max"] == result.distributions[1]["max"]
    assert found.distributions["min"].count == IMAGES


@pytest.mark.parametrize("blob", [
    b"not json", b"[]", json.dumps({"max": {"count": 3, "edges": [0, 1], "counts": [2]}}).encode(),
    json.dumps({"max": {"count": 2, "edges": [0, 1], "counts": [2], "mean": "NaN", "std": 0, "min": 0, "max": 1,
                        "quantiles": []}}).encode(),
    json.dumps({"max": {"count": 2, "edges": [1, 0], "counts": [2], "mean": 0, "std": 0, "min": 0, "max": 1,
                        "quantiles": []}}).encode(),
    b"[" * 100_000,
])
def test_a_malformed_stored_histogram_reads_as_none(blob: bytes):
    assert decode_histogram(blob) is None
