"""Dataset examples: the streamed running top-k agrees with a brute-force ranking of the
pre-activations; bottom examples are the most inhibiting images, where they inhibit."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from atlas import Catalog
from atlas.compute.capture import collect_activations
from atlas.compute.datasets import SyntheticShapes
from atlas.compute.examples import store_examples, top_examples
from atlas.compute.models import load_model
from atlas.compute.models.demo_cnn import DemoCNN
from atlas.compute.receptive_field import crop_boxes


def test_top_examples_match_brute_force_and_are_stored(demo_catalog: Catalog):
    torch.manual_seed(0)
    model = DemoCNN((8, 16, 32, 32, 32)).eval()
    data = SyntheticShapes(23, image_size=32)
    result = top_examples(model, "conv2", data, units=[0, 5, 9], k=4, batch_size=5)
    maps = collect_activations(model, ["conv2"], data, batch_size=23, reduction=None,
                               site="pre")["conv2"].flatten(2)  # (N, C, positions)
    width = maps.shape[2] ** 0.5
    for row, unit in enumerate([0, 5, 9]):
        for records, (scores, where), descending in (
                (result.top[row], maps[:, unit].max(1), True),
                (result.bottom[row], maps[:, unit].min(1), False)):
            expected = torch.argsort(scores, descending=descending, stable=True)[:4].numpy()
            np.testing.assert_allclose(records["value"], scores[expected].numpy(), rtol=1e-6)
            np.testing.assert_array_equal(records["index"], expected)
            np.testing.assert_array_equal(records["y"] * width + records["x"], where[expected].numpy())
    assert result.field == (11, 11)
    boxes = crop_boxes(model, "conv2", (32, 32))
    for records, crops in ((result.top, result.top_crops), (result.bottom, result.bottom_crops)):
        for rec, crop in zip(records.ravel(), [c for row in crops for c in row], strict=True):
            top, left, bottom, right = boxes.box(int(rec["y"]), int(rec["x"]))
            image = data[int(rec["index"])][0].permute(1, 2, 0).numpy()
            np.testing.assert_array_equal(crop, image[top:bottom, left:right])
    params = {"dataset": "synthetic:23", "k": 4}
    assert store_examples(demo_catalog, "demo", result, params) == 3
    assert demo_catalog.artifacts("demo/conv2/0", "examples")[0].params["site"] == "pre"
    assert store_examples(demo_catalog, "demo", result, params) == 0
    [artifact] = demo_catalog.artifacts("demo/conv2/5", "examples")
    assert len(artifact.blobs["top"]) == 4
    records = demo_catalog.blobs.get_array(artifact.blobs["records"])
    assert records.shape == (2, 4) and records[0]["index"][0] == result.top[1]["index"][0]

    np.testing.assert_array_equal(records[1], result.bottom[1])


def test_demo_bottom_examples_inhibit_at_their_own_positions():
    """On the shipped demo's conv5, read after the ReLU every unit's bottom examples all
    scored 0 with crops at (0, 0). From the pre-activation they are negative, below the
    top values, not all tied, and not all at the map's corner."""
    model, _ = load_model("demo")
    result = top_examples(model, "conv5", SyntheticShapes(120, seed=3), units=range(16), k=5,
                          batch_size=60)
    bottom, top = result.bottom, result.top
    assert (bottom["value"] < 0).all()
    assert (bottom["value"] <= top["value"].min(axis=1, keepdims=True)).all()
    assert (np.diff(bottom["value"], axis=1) >= 0).all()  # the most inhibiting first
    assert all(len(set(row["value"].tolist())) == 5 for row in bottom)  # no ties
    at_corner = (bottom["y"] == 0) & (bottom["x"] == 0)
    assert not at_corner.all(axis=1).any()


def test_the_most_inhibiting_image_and_position_come_first():
    """A hand-made unit: red minus 0.5, then ReLU. Image 4 is a bright field with one
    dark pixel (the unit's only negative pre-activation strong enough, -0.5 at (5, 7)),
    image 2 has one saturated pixel at (9, 3); the rest are plain fields. Post-ReLU the dark
    pixel would not count (image 4's maximum is 0.4): from the pre-activation it is the
    bottom example, at its pixel."""
    conv = nn.Conv2d(3, 1, 1)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1))
        conv.bias.fill_(-0.5)
    model = nn.Sequential(conv, nn.ReLU()).eval()
    reds = [0.6, 0.7, 0.8, 0.65, 0.9, 0.75]
    images = [torch.full((3, 16, 16), red) for red in reds]
    images[4][0, 5, 7] = 0.0
    images[2][0, 9, 3] = 1.0
    result = top_examples(model, "1", images, k=3, batch_size=4)
    bottom, top = result.bottom[0], result.top[0]
    assert bottom["index"].tolist() == [4, 0, 3]
    assert (int(bottom["y"][0]), int(bottom["x"][0])) == (5, 7)
    np.testing.assert_allclose(bottom["value"], [-0.5, 0.1, 0.15], atol=1e-6)
    assert top["index"].tolist() == [2, 4, 5]
    assert (int(top["y"][0]), int(top["x"][0])) == (9, 3)
    np.testing.assert_allclose(top["value"], [0.5, 0.4, 0.25], atol=1e-6)
    assert result.bottom_crops[0][0].shape == (1, 1, 3) and result.bottom_crops[0][0][0, 0, 0] == 0.0
