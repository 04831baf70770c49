"""Dataset examples: the streamed running top-k agrees with a brute-force ranking."""

from __future__ import annotations

import numpy as np
import torch

from atlas import Catalog
from atlas.compute.capture import collect_activations
from atlas.compute.datasets import SyntheticShapes
from atlas.compute.examples import store_examples, top_examples
from atlas.compute.models.demo_cnn import DemoCNN
from atlas.compute.receptive_field import crop_boxes


def test_top_examples_match_brute_force_and_are_stored(demo_catalog: Catalog):
    torch.manual_seed(0)
    model = DemoCNN((8, 16, 32, 32, 32)).eval()
    data = SyntheticShapes(23, image_size=32)
    result = top_examples(model, "conv2", data, units=[0, 5, 9], k=4, batch_size=5)
    scores = collect_activations(model, ["conv2"], data, batch_size=23, reduction="max")["conv2"]
    for row, unit in enumerate([0, 5, 9]):
        expected = torch.argsort(scores[:, unit], descending=True, stable=True)[:4].numpy()
        np.testing.assert_allclose(result.top[row]["value"], scores[expected, unit].numpy(), rtol=1e-6)
        assert result.bottom[row]["value"][0] == scores[:, unit].min()
    assert result.field == (11, 11)
    boxes = crop_boxes(model, "conv2", (32, 32))
    for records, crops in ((result.top, result.top_crops), (result.bottom, result.bottom_crops)):
        for rec, crop in zip(records.ravel(), [c for row in crops for c in row], strict=True):
            top, left, bottom, right = boxes.box(int(rec["y"]), int(rec["x"]))
            image = data[int(rec["index"])][0].permute(1, 2, 0).numpy()
            np.testing.assert_array_equal(crop, image[top:bottom, left:right])
    params = {"dataset": "synthetic:23", "k": 4}
    assert store_examples(demo_catalog, "demo", result, params) == 3
    assert store_examples(demo_catalog, "demo", result, params) == 0
    [artifact] = demo_catalog.artifacts("demo/conv2/5", "examples")
    assert len(artifact.blobs["top"]) == 4
    records = demo_catalog.blobs.get_array(artifact.blobs["records"])
    assert records.shape == (2, 4) and records[0]["index"][0] == result.top[1]["index"][0]
