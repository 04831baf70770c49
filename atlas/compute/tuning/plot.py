"""A tuning curve as a small PNG-ready picture, drawn with PIL (no plotting library).

The response is drawn against the swept parameter (on a log axis for a log sweep), the
peak is marked, and the title states the preferred value and the selectivity, so the
picture on a unit's page says what the stored numbers say.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

WIDTH, HEIGHT = 320, 180
MARGIN = (44, 26, 10, 30)  # left, top, right, bottom
INK, GRID, LINE, PEAK = (40, 40, 40), (225, 225, 225), (31, 119, 180), (214, 39, 40)


def _fmt(value: float) -> str:
    return f"{value:.3g}"


def plot_curve(values: np.ndarray, response: np.ndarray, parameter: str, unit: str, summary: dict,
               log: bool = False) -> Image.Image:
    """One unit's curve: ``response`` at ``values``; ``summary`` as from ``summarize``."""
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    pen = ImageDraw.Draw(image)
    left, top, right, bottom = MARGIN[0], MARGIN[1], WIDTH - MARGIN[2], HEIGHT - MARGIN[3]
    x = np.log(values) if log else np.asarray(values, dtype=np.float64)
    low, high = float(np.min(response)), float(np.max(response))
    span_y = high - low or 1.0
    span_x = float(x.max() - x.min()) or 1.0
    px = left + (x - x.min()) / span_x * (right - left)
    py = bottom - (np.asarray(response) - low) / span_y * (bottom - top)
    for fraction in (0.0, 0.5, 1.0):
        y = bottom - fraction * (bottom - top)
        pen.line([(left, y), (right, y)], fill=GRID)
        pen.text((2, y - 5), _fmt(low + fraction * span_y), fill=INK)
    pen.rectangle([left, top, right, bottom], outline=INK)
    pen.line(list(zip(px.tolist(), py.tolist())), fill=LINE, width=2)
    best = int(np.argmax(response))
    pen.ellipse([px[best] - 3, py[best] - 3, px[best] + 3, py[best] + 3], fill=PEAK)
    pen.text((left, bottom + 4), _fmt(float(values[0])), fill=INK)
    last = _fmt(float(values[-1]))
    pen.text((right - 6 * len(last), bottom + 4), last, fill=INK)
    pen.text((left + 40, bottom + 4), f"{parameter} ({unit})"[:40], fill=INK)
    pen.text((left, 6), f"preferred {_fmt(summary['preferred'])} | selectivity {summary['selectivity']:.2f}",
             fill=INK)
    return image
