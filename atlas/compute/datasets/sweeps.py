"""The images of parametric sweeps (``atlas.compute.datasets.sweep_spec`` names them).

``sweep_images("orientation", 36, 64)`` draws the 36 images of an orientation sweep and
says which parameter value each shows; ``iter_sweep`` streams a sweep in batches so a
long sweep at a large size never sits in memory whole. Every image is drawn by the
renderers of ``atlas.compute.datasets.synthetic`` (the shapes the demo models were
trained on), noise-free, grey on grey unless the sweep is about colour, centred, with
lengths that scale with the image side. Angles come in counterclockwise on screen and
are turned here into the renderers' frame, whose y axis points down.
"""

from __future__ import annotations

import colorsys
from collections.abc import Callable, Iterator, Mapping

import numpy as np
import torch

from atlas.compute.datasets import synthetic as draw
from atlas.compute.datasets.sweep_spec import (
    DEFAULT_SWEEP_SIZE,
    SWEEPS,
    check_sweep,
    check_sweep_memory,
    sweep_values,
)
from atlas.registry import resolve_target

Renderer = Callable[[int, float, Mapping], np.ndarray]
DARK, LIGHT, GREY = (np.full(3, v, np.float32) for v in (0.2, 0.8, 0.5))
CONTRAST = 0.3


def _screen(degrees: float) -> float:
    """Counterclockwise degrees on screen as the renderers' angle (radians, y down)."""
    return -np.deg2rad(degrees)


def orientation(size: int, value: float, options: Mapping) -> np.ndarray:
    angle, s = _screen(value), size / 64
    if options["stimulus"] == "edge":
        return draw.edge(size, angle, 0.0, 0.0, LIGHT, DARK)
    if options["stimulus"] == "line":
        return draw.line(size, angle, 0.0, 0.0, 0.75 * size, 3 * s, LIGHT, DARK)
    return draw.grating(size, angle, 8 * s, CONTRAST, GREY)


def _curve(size: int, curvature: float, facing: float) -> np.ndarray:
    """An arc 0.6 image widths long with its midpoint at the centre, bulging towards
    ``facing`` (degrees); ``curvature`` in 1 / radius, radii in image widths."""
    length, width, direction = 0.6 * size, 3 * size / 64, _screen(facing)
    if curvature * length / size < 1e-3:  # straight: the arc's limit
        return draw.line(size, direction + np.pi / 2, 0.0, 0.0, length, width, LIGHT, DARK)
    radius = size / curvature
    cx, cy = -radius * np.cos(direction), -radius * np.sin(direction)
    return draw.arc(size, cx, cy, radius, direction, min(length / radius, 2 * np.pi), width, LIGHT, DARK)


def curvature(size: int, value: float, options: Mapping) -> np.ndarray:
    return _curve(size, value, options["orientation"])


def curve_orientation(size: int, value: float, options: Mapping) -> np.ndarray:
    return _curve(size, options["curvature"], value)


def frequency(size: int, value: float, options: Mapping) -> np.ndarray:
    return draw.grating(size, _screen(options["orientation"]), size / value, CONTRAST, GREY)


def hue(size: int, value: float, options: Mapping) -> np.ndarray:
    color = np.array(colorsys.hsv_to_rgb(value / 360 % 1, 1.0, 1.0), np.float32)
    return draw.disc(size, 0.0, 0.0, 0.3 * size, color, GREY)


def position(size: int, value: float, options: Mapping) -> np.ndarray:
    offset = value * size
    cx, cy = (offset, 0.0) if options["axis"] == "x" else (0.0, -offset)
    return draw.blob(size, cx, cy, size / 16, LIGHT, DARK)


def size_sweep(size: int, value: float, options: Mapping) -> np.ndarray:
    return draw.disc(size, 0.0, 0.0, value * size / 2, LIGHT, DARK)


def facing(size: int, value: float, options: Mapping) -> np.ndarray:
    return draw.facing_shape(size, 0.0, 0.0, 0.14 * size, 1, _screen(value), LIGHT, DARK)


def high_low(size: int, value: float, options: Mapping) -> np.ndarray:
    s, normal = size / 64, _screen(value)
    return draw.high_low_frequency(size, normal + np.pi / 2, 0.0, 0.0, 3 * s, 12 * s, (normal, normal),
                                   CONTRAST, GREY)


def renderer(name: str) -> Renderer:
    return resolve_target(SWEEPS.get(name).render)


def conditions(spec: dict, size: int) -> list[dict]:
    """``[{"orientation": 0.0}, {"orientation": 10.0}, ...]``: what each image shows."""
    parameter = SWEEPS.get(spec["sweep"]).parameter
    return [{parameter: value} for value in sweep_values(spec, size)]


def iter_sweep(spec: dict, size: int | None = None, batch_size: int = 64) -> Iterator[torch.Tensor]:
    """The sweep's images in order, ``batch_size`` at a time: (n, 3, H, W) in [0, 1]."""
    spec = check_sweep(spec)
    size = int(spec.get("size", size or DEFAULT_SWEEP_SIZE))
    draw_one = renderer(spec["sweep"])
    values = sweep_values(spec, size)
    for start in range(0, len(values), batch_size):
        images = np.stack([draw_one(size, v, spec) for v in values[start:start + batch_size]])
        yield torch.from_numpy(images.astype(np.float32)).permute(0, 3, 1, 2).contiguous()


def sweep_images(name: str, steps: int, size: int = DEFAULT_SWEEP_SIZE,
                 **options: object) -> tuple[torch.Tensor, list[dict]]:
    """The ``steps`` images of sweep ``name`` at ``size`` pixels (options as in
    ``sweep_spec.SWEEPS``) as one (steps, 3, size, size) tensor in [0, 1], and the
    condition each image shows."""
    spec = check_sweep({"sweep": name, "steps": steps, "size": size, **options})
    check_sweep_memory(spec["steps"], size)
    return torch.cat(list(iter_sweep(spec))), conditions(spec, size)
