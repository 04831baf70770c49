"""Crop boxes equal the input-gradient support of the unit at that position, on both model
families, at corners, edges and the interior; the old centred crop was 4 pixels off."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from atlas.compute.connections.linear import Linearized
from atlas.compute.hooks import tap
from atlas.compute.models import load_model
from atlas.compute.models.inceptionv1 import BLOCKS, InceptionV1
from atlas.compute.receptive_field import crop_boxes
from atlas.errors import InvalidInput


def gradient_boxes(model: torch.nn.Module, layer: str, channel: int, size: tuple[int, int],
                   positions: list[tuple[int, int]]) -> list[tuple[int, int, int, int]]:
    """(top, left, bottom, right) of the nonzero input gradient of ``channel`` at each
    position, in the linearized network: one image per position, one backward pass."""
    image = torch.zeros(len(positions), 3, *size, requires_grad=True)
    with tap(model, [layer], stop_after=layer) as taps, Linearized(), torch.enable_grad():
        model(image)
    ys, xs = zip(*positions, strict=True)
    picked = taps[layer][torch.arange(len(positions)), channel, list(ys), list(xs)]
    (grad,) = torch.autograd.grad(picked.sum(), image)
    boxes = []
    for support in grad.abs().sum(1) > 0:
        rows, cols = support.any(1).nonzero()[:, 0], support.any(0).nonzero()[:, 0]
        boxes.append((int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1))
    return boxes


def spread(map_shape: tuple[int, int]) -> list[tuple[int, int]]:
    """Two corners, the middle of two edges, the centre and an off-centre interior position."""
    h, w = map_shape
    return [(0, 0), (h - 1, w - 1), (0, w // 2), (h // 2, w - 1), (h // 2, w // 2), (h // 3, 2 * w // 3)]


def assert_boxes_match(model, layer, channel, size):
    boxes = crop_boxes(model, layer, size)
    positions = spread(boxes.map_shape)
    assert [boxes.box(y, x) for y, x in positions] == gradient_boxes(model, layer, channel, size, positions)


@pytest.fixture(scope="module")
def demo() -> torch.nn.Module:
    return load_model("demo")[0]


@pytest.fixture(scope="module")
def inception() -> InceptionV1:
    torch.manual_seed(0)
    return InceptionV1().eval()


@pytest.mark.parametrize("layer, channel", [("conv1", 3), ("conv2", 0), ("conv3", 40), ("conv5", 63)])
def test_demo_boxes_are_the_gradient_support(demo, layer, channel):
    assert_boxes_match(demo, layer, channel, (64, 64))


def test_demo_boxes_on_a_non_square_image(demo):
    assert_boxes_match(demo, "conv3", 7, (40, 56))


def test_demo_boxes_of_a_one_position_map(demo):
    boxes = crop_boxes(demo, "conv5", (16, 16))
    assert boxes.map_shape == (1, 1) and boxes.box(0, 0) == (0, 0, 16, 16)


class Upsampled(torch.nn.Module):
    """A stride-2 conv read back at twice the resolution: boxes that are no affine map of
    the position (neighbours share one), so they are measured position by position."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.up = torch.nn.Upsample(scale_factor=2)

    def forward(self, x):
        return self.up(self.conv(x))


def test_boxes_that_are_no_affine_map_are_measured_everywhere():
    torch.manual_seed(0)
    model = Upsampled().eval()
    boxes = crop_boxes(model, "up", (20, 20))
    want = gradient_boxes(model, "up", 1, (20, 20), [(d, d) for d in range(20)])
    assert [boxes.box(d, d) for d in range(20)] == want
    assert boxes.box(2, 2) == boxes.box(3, 3) == (1, 1, 4, 4)


def five_by_five(block: str) -> int:
    """The first channel of a mixed block's 5x5 branch: the widest field of the block."""
    c1, _, c3, *_ = BLOCKS[block]
    return c1 + c3


# Odd and even sizes: TF-SAME padding puts the odd pixel after, differently at each size.
@pytest.mark.parametrize("layer, size", [("mixed3a", (61, 61)), ("mixed3a", (64, 48)),
                                         ("mixed3b", (72, 72)), ("conv2d2", (45, 45))])
def test_inception_boxes_are_the_gradient_support(inception, layer, size):
    channel = five_by_five(layer) if layer in BLOCKS else 5
    assert_boxes_match(inception, layer, channel, size)


def test_a_narrower_branch_unit_lies_inside_the_layer_box(inception):
    """The 1x1 branch of mixed3a sees 27 pixels of the block's 59: its box is the layer's."""
    boxes = crop_boxes(inception, "mixed3a", (96, 96))
    positions = [(6, 6), *spread(boxes.map_shape)]
    inner = gradient_boxes(inception, "mixed3a", 0, (96, 96), positions)
    for (y, x), (top, left, bottom, right) in zip(positions, inner, strict=True):
        outer = boxes.box(y, x)
        assert outer[:2] <= (top, left) and (bottom, right) <= outer[2:]
    assert inner[0] == (42, 42, 69, 69) and boxes.box(6, 6) == (26, 26, 85, 85)


def old_centred_box(y: int, x: int, field: tuple[int, int], map_shape: tuple[int, int],
                    size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The crop the examples used before: the field's size centred on the scaled position."""
    cy, cx = (y + 0.5) * size[0] / map_shape[0], (x + 0.5) * size[1] / map_shape[1]
    top = round(min(max(cy - field[0] / 2, 0), max(size[0] - field[0], 0)))
    left = round(min(max(cx - field[1] / 2, 0), max(size[1] - field[1], 0)))
    return top, left, top + field[0], left + field[1]


def test_mixed3a_crop_was_four_pixels_off_at_224_and_now_matches(inception):
    size = (224, 224)
    boxes = crop_boxes(inception, "mixed3a", size)
    positions = [(14, 14), (5, 20)]
    truth = gradient_boxes(inception, "mixed3a", five_by_five("mixed3a"), size, positions)
    assert [boxes.box(y, x) for y, x in positions] == truth
    assert boxes.centre_size == (59, 59)
    for (y, x), want in zip(positions, truth, strict=True):
        old = old_centred_box(y, x, boxes.centre_size, boxes.map_shape, size)
        assert np.subtract(want, old).tolist() == [4, 4, 4, 4]  # up and left by 4 pixels


def test_crop_takes_the_box_and_refuses_another_image_size(demo):
    boxes = crop_boxes(demo, "conv2", (32, 32))
    image = np.arange(32 * 32 * 3, dtype=np.float32).reshape(32, 32, 3)
    top, left, bottom, right = boxes.box(0, 8)
    np.testing.assert_array_equal(boxes.crop(image, 0, 8), image[top:bottom, left:right])
    assert (bottom - top, right - left) == (6, 11)  # clipped at the top edge
    with pytest.raises(InvalidInput, match="crop boxes are for"):
        boxes.crop(image[:30], 0, 8)
