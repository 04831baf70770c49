"""Activation capture: right tensors, reductions, early stop, streaming, misuse."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from tiny_models import random_images, seeded_demo_cnn
from torch import nn

from atlas.compute.capture import capture, collect_activations, iter_activations
from atlas.compute.datasets import SyntheticShapes
from atlas.compute.hooks import tap
from atlas.errors import InvalidInput


@pytest.fixture
def model():
    return seeded_demo_cnn()


@pytest.fixture
def images():
    return random_images(4)


def test_capture_returns_post_relu_maps_without_grad(model, images):
    acts = capture(model, ["conv1", "conv3", "fc"], images)
    expected = F.relu(F.conv2d(images, model.conv1.weight, model.conv1.bias, 2, 3))
    torch.testing.assert_close(acts["conv1"], expected)
    assert acts["conv3"].shape == (4, 48, 16, 16) and acts["fc"].shape == (4, 9)
    torch.testing.assert_close(acts["fc"], model(images))
    assert not any(a.requires_grad for a in acts.values())


@pytest.mark.parametrize("reduction", ["max", "mean", "center"])
def test_spatial_reductions(model, images, reduction):
    full = capture(model, ["conv2"], images)["conv2"]
    got = capture(model, ["conv2", "fc"], images, reduction=reduction)
    expected = {"max": full.amax(dim=(2, 3)), "mean": full.mean(dim=(2, 3)),
                "center": full[:, :, 16, 16]}[reduction]
    torch.testing.assert_close(got["conv2"], expected)
    assert got["fc"].shape == (4, 9)  # no spatial axes: unchanged


def test_forward_stops_after_the_last_requested_layer(model, images):
    with tap(model, ["conv4"]) as later:  # an outer tap sees whether conv4 ran
        capture(model, ["conv1", "conv2"], images)
    assert "conv4" not in later


def test_inplace_ops_after_a_layer_do_not_change_its_capture():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(inplace=True), nn.Conv2d(4, 2, 1))
    x = torch.randn(2, 3, 8, 8)
    got = capture(net, ["0", "2"], x)["0"]
    torch.testing.assert_close(got, net[0](x))
    assert (got < 0).any()


class _Twice(nn.Module):
    """Runs ``act`` twice; ``spare`` never runs."""

    def __init__(self):
        super().__init__()
        self.act, self.out, self.spare = nn.ReLU(), nn.Identity(), nn.Linear(2, 2)

    def forward(self, x):
        return self.out(self.act(self.act(x)))


def test_misuse_is_reported(model, images):
    with pytest.raises(InvalidInput, match="no layer named conv9"):
        capture(model, ["conv9"], images)
    with pytest.raises(InvalidInput, match="unknown spatial reduction"):
        capture(model, ["conv1"], images, reduction="median")
    with pytest.raises(InvalidInput, match="act runs more than once"):
        capture(_Twice(), ["act", "out"], images)
    with pytest.raises(InvalidInput, match="layer spare did not run"):
        capture(_Twice(), ["out", "spare"], images)


def test_streaming_matches_one_shot_and_keeps_indices(model):
    data = SyntheticShapes(10, seed=1)
    model.train()
    batches = list(iter_activations(model, ["conv5"], data, batch_size=4, reduction="max"))
    assert model.training  # mode restored
    assert [b.indices.tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    model.eval()
    stacked = torch.stack([data[i][0] for i in range(10)])
    one_shot = capture(model, ["conv5"], stacked, reduction="max")["conv5"]
    streamed = torch.cat([b.activations["conv5"] for b in batches])
    torch.testing.assert_close(streamed, one_shot)
    collected = collect_activations(model, ["conv1", "conv5"], data, batch_size=3)
    assert collected["conv1"].shape == (10, 16) and collected["conv5"].device.type == "cpu"
    torch.testing.assert_close(collected["conv5"], one_shot)
