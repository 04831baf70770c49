"""Exact crop boxes: the part of the input image that a layer's map position sees.

A dataset example's crop must be where the unit looks. Centring the receptive field's
size on the position scaled to the image is not that: TensorFlow's SAME padding puts the
odd pixel after, not before (``atlas.compute.models.inceptionv1.same_pad``), so
InceptionV1's fields sit up and left of such a centred box (3.5 pixels on ``mixed3a`` and
``mixed3b`` at 224 pixels). The box here is measured instead: the support of the input
gradient of the position's units in the linearized network
(``atlas.compute.connections.linear.Linearized``: ReLUs pass everything and max pools
become average pools, so the point where the gradient is taken hides no pixel), clipped to
the image by construction. All of the layer's channels are mixed with random positive
weights, so the box is the union of its units' fields at that position: where a mixed
layer's branches differ (InceptionV1's 1x1 branch sees less than its 5x5 branch), a unit of
a narrower branch gets the layer's box, which holds its own field and the same centre.

A conv net's box is a product of two intervals, its rows set by the position's row and its
columns by its column, and on each axis the unclipped interval of index i is
``[offset + stride * i, offset + size + stride * i)``. So the gradients at six positions
(both ends and the middle of the map, in pairs) fix every position's box; the fit must
reproduce all six exactly, and where it does not (a model that is no conv net), the
gradients of all the diagonal positions (d, d) are measured, ``max(h, w)`` backward passes.
Once per (model, layer, input size), cached.
"""

from __future__ import annotations

from dataclasses import dataclass
from weakref import WeakKeyDictionary

import numpy as np
import torch
from torch import nn

from atlas.compute.capture import model_device
from atlas.compute.connections.linear import Linearized, input_channels
from atlas.compute.hooks import tap
from atlas.errors import InvalidInput

Interval = tuple[int, int]


@dataclass(frozen=True)
class CropBoxes:
    """The input box of every position of a layer's map, for images of ``image_size``
    (height, width): position (y, x) sees rows ``rows[y]`` and columns ``cols[x]``,
    half-open pixel intervals ``[start, stop)``."""

    image_size: tuple[int, int]
    rows: tuple[Interval, ...]
    cols: tuple[Interval, ...]

    @property
    def map_shape(self) -> tuple[int, int]:
        return len(self.rows), len(self.cols)

    def box(self, y: int, x: int) -> tuple[int, int, int, int]:
        """(top, left, bottom, right) of position (y, x); bottom and right exclusive."""
        (top, bottom), (left, right) = self.rows[y], self.cols[x]
        return top, left, bottom, right

    def crop(self, image: np.ndarray, y: int, x: int) -> np.ndarray:
        """The pixels of an HxWxC ``image`` that position (y, x) sees."""
        if tuple(image.shape[:2]) != self.image_size:
            raise InvalidInput(f"crop boxes are for {self.image_size} images, got {image.shape[:2]}")
        top, left, bottom, right = self.box(y, x)
        return image[top:bottom, left:right]

    @property
    def centre_size(self) -> tuple[int, int]:
        """Height and width of the centre position's box: the field as the image shows it."""
        top, left, bottom, right = self.box(len(self.rows) // 2, len(self.cols) // 2)
        return bottom - top, right - left


def _linear_map(model: nn.Module, layer: str, batch: int,
                image_size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """A blank leaf batch of images and ``layer``'s output on it in the linearized
    network, with the graph between them."""
    image = torch.zeros(batch, input_channels(model), *image_size, device=model_device(model),
                        requires_grad=True)
    with tap(model, [layer], stop_after=layer, repeat="last") as taps, Linearized(), torch.enable_grad():
        model(image)
    if layer not in taps:
        raise InvalidInput(f"layer {layer} did not run in the forward pass")
    if taps[layer].dim() != 4:
        raise InvalidInput(f"crop boxes need a layer with 2-d maps; {layer} has none")
    return image, taps[layer]


def _support_intervals(image: torch.Tensor, out: torch.Tensor, layer: str,
                       positions: list[tuple[int, int]]) -> list[tuple[Interval, Interval]]:
    """For each (y, x) in ``positions``, the row and column intervals of the support of
    the input gradient of ``out``'s channels (random positive mix) at (y, x), the i-th
    position back-propagated through the i-th image."""
    mix = torch.rand(out.shape[1], generator=torch.Generator().manual_seed(0)).to(out.device) + 0.5
    ys, xs = (torch.tensor(v, device=out.device) for v in zip(*positions, strict=True))
    picked = out[torch.arange(len(positions), device=out.device), :, ys, xs]  # (positions, channels)
    (grad,) = torch.autograd.grad((picked * mix).sum(), image, allow_unused=True)
    if grad is None:
        raise InvalidInput(f"{layer} does not depend on the input image")
    support = grad[:len(positions)].abs().sum(1) > 0  # (positions, H, W)
    return [(_interval(s.any(1), layer), _interval(s.any(0), layer)) for s in support]


def _interval(mask: torch.Tensor, layer: str) -> Interval:
    where = mask.nonzero()[:, 0]
    if len(where) == 0:
        raise InvalidInput(f"{layer} does not depend on the input image")
    return int(where[0]), int(where[-1]) + 1


_MOST_PROBES = 6


def _probes(n: int) -> list[int]:
    """The indices whose boxes fix an axis's affine map: both ends and the middle, in pairs
    (at most ``_MOST_PROBES``)."""
    return sorted({i for i in (0, 1, n // 2, n // 2 + 1, n - 2, n - 1) if 0 <= i < n})


def _fit_axis(seen: dict[int, Interval], n: int, extent: int) -> tuple[Interval, ...] | None:
    """Every index's interval on an axis of ``n`` map indices and ``extent`` pixels, from
    the intervals ``seen`` at a few: start and stop are ``offset + stride * index``
    clipped to the image; None if no such map reproduces all that was seen."""
    starts = [(i, a) for i, (a, _) in sorted(seen.items()) if a > 0]  # not clipped
    stops = [(i, b) for i, (_, b) in sorted(seen.items()) if b < extent]
    pair = starts if len(starts) >= 2 else stops
    if len(pair) < 2 or (pair[1][1] - pair[0][1]) % (pair[1][0] - pair[0][0]):
        return None
    stride = (pair[1][1] - pair[0][1]) // (pair[1][0] - pair[0][0])
    if stride <= 0:
        return None

    def clipped(known: list[tuple[int, int]], default: int, i: int) -> int:
        # A coordinate clipped at every seen index, the last included, is clipped everywhere.
        return default if not known else min(max(known[0][1] + stride * (i - known[0][0]), 0), extent)

    fitted = tuple((clipped(starts, 0, i), clipped(stops, extent, i)) for i in range(n))
    return fitted if all(fitted[i] == box for i, box in seen.items()) else None


def _measure(model: nn.Module, layer: str, image_size: tuple[int, int], batch: int) -> CropBoxes:
    """The boxes from the gradients at a few positions, through the per-axis affine map;
    all diagonal positions measured where no affine map reproduces those few."""
    image, out = _linear_map(model, layer, _MOST_PROBES, image_size)
    height, width = out.shape[2:]
    rows, cols = _probes(height), _probes(width)
    positions = [(rows[min(j, len(rows) - 1)], cols[min(j, len(cols) - 1)])
                 for j in range(max(len(rows), len(cols)))]
    found = _support_intervals(image, out, layer, positions)
    fitted_rows = _fit_axis({y: r for (y, _), (r, _) in zip(positions, found, strict=True)},
                            height, image_size[0])
    fitted_cols = _fit_axis({x: c for (_, x), (_, c) in zip(positions, found, strict=True)},
                            width, image_size[1])
    if fitted_rows is not None and fitted_cols is not None:
        return CropBoxes(image_size, fitted_rows, fitted_cols)
    diagonal = [(min(d, height - 1), min(d, width - 1)) for d in range(max(height, width))]
    found = []
    for start in range(0, len(diagonal), batch):
        chunk = diagonal[start:start + batch]
        found += _support_intervals(*_linear_map(model, layer, len(chunk), image_size), layer, chunk)
    return CropBoxes(image_size, tuple(r for r, _ in found[:height]), tuple(c for _, c in found[:width]))


# Boxes per model object: a worker keeps its model between jobs, and every chunk of a
# layer's units needs the same boxes.
_BOXES: WeakKeyDictionary[nn.Module, dict[tuple[str, tuple[int, int]], CropBoxes]] = WeakKeyDictionary()


def crop_boxes(model: nn.Module, layer: str, image_size: tuple[int, int], batch: int = 8) -> CropBoxes:
    """The exact input box of every position of ``layer``'s map for images of
    ``image_size`` (height, width), ``batch`` positions per backward pass; cached."""
    found = _BOXES.setdefault(model, {})
    key = (layer, (int(image_size[0]), int(image_size[1])))
    if key not in found:
        found[key] = _measure(model, layer, key[1], batch)
    return found[key]
