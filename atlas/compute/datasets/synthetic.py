"""Procedural images that exercise the features the atlas wants to show.

Each class stands for one feature family of the "Zoom In" story (oriented lines and edges,
curves, circles, high-low frequency boundaries, colour blobs and colour contrasts, left-
and right-facing shapes), so a small CNN trained to tell them apart has a reason to grow
those detectors. The renderers take explicit parameters so that tuning-curve experiments
can draw, say, a curve at a chosen radius and orientation; the dataset only samples the
parameters. Sample ``i`` of seed ``s`` depends on ``(s, i)`` alone: deterministic under any
shuffling, batching or worker split. Images are RGB float32 in [0, 1], anti-aliased so that
edges are clean (clean edges in the data are what make clean first-layer filters).
"""

from __future__ import annotations

import colorsys
from collections.abc import Callable

import numpy as np
import torch
from torch.utils.data import Dataset

CLASSES: tuple[str, ...] = (
    "line", "edge", "curve", "circle", "high_low_frequency",
    "color_blob", "color_contrast", "left_facing", "right_facing",
)

Color = np.ndarray  # shape (3,), float in [0, 1]


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates in pixels, origin at the image centre, y pointing down."""
    c = np.arange(size, dtype=np.float32) + 0.5 - size / 2
    return np.meshgrid(c, c)


def _coverage(sdf: np.ndarray) -> np.ndarray:
    """Anti-aliased coverage from a signed distance in pixels (negative inside)."""
    return np.clip(0.5 - sdf, 0.0, 1.0)


def _composite(bg: Color, fg: Color, alpha: np.ndarray) -> np.ndarray:
    a = alpha[..., None]
    return bg * (1 - a) + fg * a


def _along(x: np.ndarray, y: np.ndarray, angle: float, cx: float, cy: float) -> tuple:
    """Coordinates along and across a direction (``angle`` in radians, 0 = rightwards)."""
    dx, dy = x - cx, y - cy
    ca, sa = np.cos(angle), np.sin(angle)
    return dx * ca + dy * sa, -dx * sa + dy * ca


def line(size: int, angle: float, cx: float, cy: float, length: float, width: float,
         fg: Color, bg: Color) -> np.ndarray:
    """A straight segment of ``length`` by ``width`` pixels centred on (cx, cy)."""
    u, v = _along(*_grid(size), angle, cx, cy)
    du = np.maximum(np.abs(u) - length / 2, 0)
    return _composite(bg, fg, _coverage(np.hypot(du, v) - width / 2))


def edge(size: int, angle: float, cx: float, cy: float, fg: Color, bg: Color) -> np.ndarray:
    """A straight boundary through (cx, cy): ``fg`` on one side, ``bg`` on the other."""
    _, v = _along(*_grid(size), angle, cx, cy)
    return _composite(bg, fg, _coverage(v))


def arc(size: int, cx: float, cy: float, radius: float, direction: float, span: float,
        width: float, fg: Color, bg: Color) -> np.ndarray:
    """An arc of a circle centred on (cx, cy); ``direction`` is the angle of its midpoint
    and ``span`` its angular extent (2*pi draws the whole circle)."""
    x, y = _grid(size)
    dx, dy = x - cx, y - cy
    ring = np.abs(np.hypot(dx, dy) - radius) - width / 2
    off = (np.arctan2(dy, dx) - direction + np.pi) % (2 * np.pi) - np.pi
    alpha = _coverage(ring) * (np.abs(off) <= span / 2)
    return _composite(bg, fg, alpha)


def high_low_frequency(size: int, angle: float, cx: float, cy: float, high_period: float,
                       low_period: float, grating_angles: tuple[float, float],
                       contrast: float, mean: Color) -> np.ndarray:
    """Gratings of a short period on one side of a boundary and a long one on the other."""
    x, y = _grid(size)
    _, v = _along(x, y, angle, cx, cy)
    waves = [np.sin(2 * np.pi * _along(x, y, a, 0.0, 0.0)[0] / p)
             for a, p in zip(grating_angles, (high_period, low_period))]
    side = _coverage(v)
    lum = contrast * (waves[0] * side + waves[1] * (1 - side))
    return np.clip(mean + lum[..., None], 0, 1)


def blob(size: int, cx: float, cy: float, sigma: float, fg: Color, bg: Color) -> np.ndarray:
    """A soft Gaussian spot of colour."""
    x, y = _grid(size)
    return _composite(bg, fg, np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma**2)))


def disc(size: int, cx: float, cy: float, radius: float, fg: Color, bg: Color) -> np.ndarray:
    """A filled disc of ``radius`` pixels centred on (cx, cy)."""
    x, y = _grid(size)
    return _composite(bg, fg, _coverage(np.hypot(x - cx, y - cy) - radius))


def grating(size: int, angle: float, period: float, contrast: float, mean: Color) -> np.ndarray:
    """A sinusoidal grating whose stripes run along ``angle``, with a bright stripe through
    the centre: ``mean`` plus ``contrast`` times a cosine of ``period`` pixels."""
    _, v = _along(*_grid(size), angle, 0.0, 0.0)
    return np.clip(mean + (contrast * np.cos(2 * np.pi * v / period))[..., None], 0, 1)


def facing_shape(size: int, cx: float, cy: float, scale: float, facing: int, tilt: float,
                 fg: Color, bg: Color) -> np.ndarray:
    """A head: a disc with a pointed snout towards ``facing`` (+1 right, -1 left), tilted by
    ``tilt`` radians. Its mirror image is the other class, so only orientation tells them
    apart."""
    x, y = _grid(size)
    angle = tilt if facing > 0 else np.pi - tilt
    u, v = _along(x, y, angle, cx, cy)
    head = np.hypot(u, v) - scale
    # Snout: a wedge from the disc's centre to a tip 2.2 radii ahead (convex polygon sdf).
    tip = 2.2 * scale
    half = np.arctan2(0.8 * scale, tip)
    sides = [(u - tip) * np.sin(half) + s * v * np.cos(half) for s in (1, -1)]
    snout = np.maximum(np.maximum(*sides), -u)
    return _composite(bg, fg, _coverage(np.minimum(head, snout)))


def _saturated(rng: np.random.Generator) -> Color:
    h = rng.random()
    return np.array(colorsys.hsv_to_rgb(h, rng.uniform(0.6, 1), rng.uniform(0.6, 1)),
                    dtype=np.float32)


def _contrasting_pair(rng: np.random.Generator) -> tuple[Color, Color]:
    """Two random colours whose luminance differs by at least 0.25."""
    while True:
        fg, bg = rng.random(3, dtype=np.float32), rng.random(3, dtype=np.float32)
        lum = np.array([0.299, 0.587, 0.114], dtype=np.float32)
        if abs(float((fg - bg) @ lum)) >= 0.25:
            return fg, bg


def _grey_pair(rng: np.random.Generator) -> tuple[Color, Color]:
    a = rng.uniform(0, 0.35)
    b = rng.uniform(a + 0.3, 1.0)
    pair = [np.full(3, a, np.float32), np.full(3, b, np.float32)]
    rng.shuffle(pair)
    return pair[0], pair[1]


def _hue_pair(rng: np.random.Generator) -> tuple[Color, Color]:
    """Two saturated colours whose hues differ by at least a quarter turn."""
    h = rng.random()
    h2 = (h + rng.uniform(0.25, 0.75)) % 1
    v = rng.uniform(0.7, 1)
    return (np.array(colorsys.hsv_to_rgb(h, 1, v), np.float32),
            np.array(colorsys.hsv_to_rgb(h2, 1, v), np.float32))


def _sample(label: int, rng: np.random.Generator, size: int) -> np.ndarray:
    """Draw class ``label`` with random parameters (lengths scale with ``size``)."""
    s = size / 64
    ang = rng.uniform(0, 2 * np.pi)
    cx, cy = rng.uniform(-10 * s, 10 * s, 2)
    name = CLASSES[label]
    if name == "line":
        return line(size, ang, cx, cy, rng.uniform(24, 56) * s, rng.uniform(1.5, 3.5) * s,
                    *_contrasting_pair(rng))
    if name == "edge":
        return edge(size, ang, cx, cy, *_grey_pair(rng))
    if name in ("curve", "circle"):
        radius = rng.uniform(7, 20) * s
        span = rng.uniform(0.4, 1.0) * np.pi if name == "curve" else 2 * np.pi
        mx, my = (cx - radius * np.cos(ang), cy - radius * np.sin(ang)) if name == "curve" \
            else (cx, cy)
        return arc(size, mx, my, radius, ang, span, rng.uniform(1.5, 3.5) * s,
                   *_contrasting_pair(rng))
    if name == "high_low_frequency":
        mean = np.full(3, rng.uniform(0.35, 0.65), np.float32) + rng.uniform(-.1, .1, 3)
        return high_low_frequency(size, ang, cx, cy, rng.uniform(2.5, 4) * s,
                                  rng.uniform(12, 24) * s, tuple(rng.uniform(0, np.pi, 2)),
                                  rng.uniform(0.2, 0.35), mean.astype(np.float32))
    if name == "color_blob":
        return blob(size, cx, cy, rng.uniform(4, 10) * s, _saturated(rng),
                    np.full(3, rng.uniform(0.2, 0.8), np.float32))
    if name == "color_contrast":
        return edge(size, ang, cx, cy, *_hue_pair(rng))
    facing = 1 if name == "right_facing" else -1
    return facing_shape(size, cx, cy, rng.uniform(6, 11) * s, facing,
                        rng.uniform(-0.45, 0.45), *_contrasting_pair(rng))


def render(label: int, seed: int, index: int, size: int = 64,
           noise: float = 0.04) -> np.ndarray:
    """Image ``index`` of class ``label`` under ``seed``: HxWx3 float32 in [0, 1], with
    Gaussian pixel noise of a random level up to ``noise`` (noise keeps first-layer filters
    smooth: it punishes weights that amplify single pixels)."""
    rng = np.random.default_rng((seed, index, label))
    img = _sample(label, rng, size)
    img = img + rng.normal(0, rng.uniform(0, noise), img.shape).astype(np.float32)
    return np.clip(img, 0, 1).astype(np.float32)


class SyntheticShapes(Dataset):
    """``length`` images cycling through ``CLASSES`` (balanced), deterministic by seed.

    Items are ``(image, label)``: a 3xHxW float tensor in [0, 1] and an int.
    """

    classes = CLASSES

    def __init__(self, length: int, seed: int = 0, image_size: int = 64,
                 noise: float = 0.04,
                 transform: Callable[[torch.Tensor], torch.Tensor] | None = None):
        self.length, self.seed, self.image_size, self.noise = length, seed, image_size, noise
        self.transform = transform

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        if not 0 <= index < self.length:
            raise IndexError(index)
        label = index % len(CLASSES)
        img = torch.from_numpy(render(label, self.seed, index, self.image_size, self.noise))
        img = img.permute(2, 0, 1).contiguous()
        return (self.transform(img) if self.transform else img), label


def color_augment(images: torch.Tensor, generator: torch.Generator,
                  permute: bool = True, invert: float = 0.5) -> torch.Tensor:
    """Per-image colour augmentation of a batch (N, 3, H, W) in [0, 1] that keeps every
    class's label: a random permutation of the RGB channels and, with probability
    ``invert``, the photographic negative. It makes a filter tuned to one particular colour
    or polarity pay off only a fraction of the time, so first-layer filters are pushed
    towards the class-defining structure (oriented edges and lines, colour contrasts of
    any hue) rather than towards colour blobs. Deterministic under ``generator``."""
    out = images
    n = images.shape[0]
    if permute:
        perms = torch.stack([torch.randperm(3, generator=generator) for _ in range(n)])
        out = torch.gather(out, 1, perms[:, :, None, None].expand_as(out))
    if invert > 0:
        flip = (torch.rand(n, generator=generator) < invert)[:, None, None, None]
        out = torch.where(flip, 1 - out, out)
    return out


# Classes defined by shape alone: their colours are a nuisance, so they may be shown in grey.
SHAPE_CLASSES: tuple[str, ...] = (
    "line", "edge", "curve", "circle", "high_low_frequency", "left_facing", "right_facing",
)
_LUMA = (0.299, 0.587, 0.114)


def greyscale_augment(images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator,
                      p: float = 0.5) -> torch.Tensor:
    """With probability ``p``, show an image of a shape class (``SHAPE_CLASSES``) in grey
    (its luminance in all three channels); colour classes keep their colours, so no label
    changes. The renderers pick the colours of a shape's two sides independently per
    channel, so without this a first-layer filter gains as much from a different
    orientation in each channel as from one edge seen in all of them; grey images reward
    filters whose channels agree, i.e. oriented luminance edges and lines (and colour-
    opponent edges for the colour classes). Deterministic under ``generator``."""
    shape = torch.tensor([CLASSES[int(c)] in SHAPE_CLASSES for c in labels])
    grey = shape & (torch.rand(len(labels), generator=generator) < p)
    luma = (images * torch.tensor(_LUMA, dtype=images.dtype)[:, None, None]).sum(1, keepdim=True)
    return torch.where(grey[:, None, None, None], luma.expand_as(images), images)
