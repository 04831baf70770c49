"""Lucid's transformation robustness: pad, jitter, random scale, random rotation.

An image that excites a unit only at one exact alignment is an adversarial pattern, not a
picture of the feature; randomly moving, scaling and rotating the image at every step
makes the optimizer find patterns that survive all of them.

Every transform here is geometric: it maps each output pixel to an input position with a
per-image affine matrix (in pixel units about the image centre) and may change the canvas
size. ``apply_transforms`` multiplies the matrices of a whole pipeline and resamples once
with ``grid_sample``: one vectorized op per step whatever the batch, a different draw for
every image, and a single bilinear interpolation instead of one per transform (integer
jitters alone are exact copies). The canvas outside the image is the ``Pad`` value (grey
0.5 as in Lucid; Lucid fills the corners its rotation exposes with black instead).

Draws come as per-image uniforms ``u`` (N, ``n_random``) in [0, 1) from each image's own
generator (see ``render``), so an image is transformed the same way in any batch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F


def _choose(options: Sequence[float], u: torch.Tensor) -> torch.Tensor:
    """Map uniforms in [0, 1) to a uniform choice among ``options`` (same shape as u)."""
    table = torch.tensor(options, dtype=u.dtype, device=u.device)
    return table[(u * len(options)).long().clamp(max=len(options) - 1)]


def _affine(linear: torch.Tensor, shift: torch.Tensor | None = None) -> torch.Tensor:
    """(N, 2, 2) and (N, 2) (default 0) -> homogeneous (N, 3, 3) maps of (x, y, 1)."""
    if shift is None:
        shift = torch.zeros_like(linear[:, :, 0])
    bottom = torch.zeros_like(linear[:, :1, :])
    bottom = torch.cat([bottom, torch.ones_like(bottom[:, :, :1])], dim=2)
    return torch.cat([torch.cat([linear, shift[:, :, None]], dim=2), bottom], dim=1)


def _eye(u: torch.Tensor) -> torch.Tensor:
    return torch.eye(2, dtype=u.dtype, device=u.device).expand(u.shape[0], 2, 2)


@dataclass(frozen=True)
class Pad:
    """Grow the canvas by ``width`` on every side, filled with ``value``, so that crops and
    rotations do not always cut into the image's own border."""

    width: int
    value: float = 0.5
    n_random = 0

    def out_size(self, h: int, w: int) -> tuple[int, int]:
        return h + 2 * self.width, w + 2 * self.width

    def matrix(self, u: torch.Tensor) -> torch.Tensor:
        return _affine(_eye(u))

    def spec(self) -> dict:
        return {"kind": "pad", **asdict(self)}


@dataclass(frozen=True)
class Jitter:
    """A random crop losing ``d`` pixels per axis: an integer shift in [0, d] (Lucid's
    ``jitter``)."""

    d: int
    n_random = 2

    def out_size(self, h: int, w: int) -> tuple[int, int]:
        return h - self.d, w - self.d

    def matrix(self, u: torch.Tensor) -> torch.Tensor:
        offsets = (u * (self.d + 1)).floor().clamp(max=self.d)
        return _affine(_eye(u), offsets - self.d / 2)

    def spec(self) -> dict:
        return {"kind": "jitter", **asdict(self)}


@dataclass(frozen=True)
class RandomScale:
    """Zoom about the centre by a factor drawn from ``scales``, keeping the canvas size
    (Lucid resizes the canvas instead; a batch needs one size)."""

    scales: tuple[float, ...]
    n_random = 1

    def out_size(self, h: int, w: int) -> tuple[int, int]:
        return h, w

    def matrix(self, u: torch.Tensor) -> torch.Tensor:
        inverse = 1.0 / _choose(self.scales, u[:, 0])
        return _affine(inverse[:, None, None] * _eye(u))

    def spec(self) -> dict:
        return {"kind": "scale", "scales": list(self.scales)}


@dataclass(frozen=True)
class RandomRotate:
    """Rotate about the centre by an angle in degrees drawn from ``angles``."""

    angles: tuple[float, ...]
    n_random = 1

    def out_size(self, h: int, w: int) -> tuple[int, int]:
        return h, w

    def matrix(self, u: torch.Tensor) -> torch.Tensor:
        radians = _choose(self.angles, u[:, 0]) * (math.pi / 180.0)
        cos, sin = torch.cos(radians), torch.sin(radians)
        linear = torch.stack([torch.stack([cos, -sin], dim=1), torch.stack([sin, cos], dim=1)], dim=1)
        return _affine(linear)

    def spec(self) -> dict:
        return {"kind": "rotate", "angles": list(self.angles)}


Transform = Pad | Jitter | RandomScale | RandomRotate


def n_random(transforms: Sequence[Transform]) -> int:
    """Uniforms one image consumes per step through ``transforms``."""
    return sum(t.n_random for t in transforms)


def _to_normalized(h: int, w: int, like: torch.Tensor) -> torch.Tensor:
    """Pixels about the centre -> ``affine_grid``'s [-1, 1] units (align_corners=False)."""
    return torch.diag(torch.tensor([2.0 / w, 2.0 / h, 1.0], dtype=like.dtype, device=like.device))


def apply_transforms(transforms: Sequence[Transform], x: torch.Tensor,
                     u: torch.Tensor) -> torch.Tensor:
    """Apply ``transforms`` in order to x (N, C, H, W), each with its own columns of ``u``
    (N, n_random), as one resampling."""
    if not transforms:
        return x
    h, w = x.shape[-2:]
    total = torch.eye(3, dtype=x.dtype, device=x.device).expand(x.shape[0], 3, 3)
    start = 0
    for t in transforms:
        # The output of t is the input of the next one: output -> input maps chain leftwards.
        total = total @ t.matrix(u[:, start:start + t.n_random].to(x.dtype))
        h, w = t.out_size(h, w)
        start += t.n_random
    in_h, in_w = x.shape[-2:]
    theta = _to_normalized(in_h, in_w, x) @ total @ torch.linalg.inv(_to_normalized(h, w, x))
    grid = F.affine_grid(theta[:, :2, :], [x.shape[0], x.shape[1], h, w], align_corners=False)
    fill = next((t.value for t in transforms if isinstance(t, Pad)), 0.0)
    return F.grid_sample(x - fill, grid, mode="bilinear", padding_mode="zeros",
                         align_corners=False) + fill


def standard_transforms() -> tuple[Transform, ...]:
    """Lucid's ``standard_transforms``: pad 12, jitter 8, scale 0.9-1.1, rotate -10..10
    degrees (0 five times more likely), jitter 4."""
    return (
        Pad(12, 0.5),
        Jitter(8),
        RandomScale(tuple(1 + (i - 5) / 50.0 for i in range(11))),
        RandomRotate(tuple(float(a) for a in [*range(-10, 11), *[0] * 5])),
        Jitter(4),
    )
