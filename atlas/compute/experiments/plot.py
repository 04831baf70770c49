"""The plot of a run: the mean response per stimulus condition before the intervention,
after it, and under the control, as a PNG (PIL only: no plotting library is needed)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFont

SERIES = (("control", (175, 175, 175)), ("before", (40, 90, 200)), ("after", (210, 50, 40)))  # drawn in this order
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 720, 360, 70, 20, 40, 70


def response_plot(order: list[str], means: dict[str, list[float]], title: str) -> bytes:
    """``means[series][i]``: the mean response on condition ``order[i]`` (series: before,
    after, control; a missing series is not drawn)."""
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    values = np.array([v for name, _ in SERIES for v in means.get(name, [])], float)
    values = values[np.isfinite(values)]
    low, high = (min(0.0, float(values.min())), float(values.max())) if len(values) else (0.0, 1.0)
    high = high if high > low else low + 1.0
    span_x, span_y = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def xy(i: int, v: float) -> tuple[float, float]:
        x = LEFT + span_x * (i + 0.5) / max(len(order), 1)
        return x, TOP + span_y * (1 - (v - low) / (high - low))

    draw.text((LEFT, 10), title[:110], fill="black", font=font)
    draw.line([(LEFT, TOP), (LEFT, TOP + span_y), (LEFT + span_x, TOP + span_y)], fill="black")
    for v in (low, (low + high) / 2, high):
        draw.text((5, xy(0, v)[1] - 6), f"{v:.3g}", fill="black", font=font)
    if low < 0 < high:
        draw.line([(LEFT, xy(0, 0)[1]), (LEFT + span_x, xy(0, 0)[1])], fill=(200, 200, 200))
    every = max(1, len(order) // 12)
    for i, name in enumerate(order):
        if i % every == 0:
            draw.text((xy(i, low)[0] - 3 * min(len(name), 10), TOP + span_y + 6), name[:10], fill="black", font=font)
    for k, (name, colour) in enumerate(SERIES):
        series = means.get(name)
        if not series:
            continue
        points = [xy(i, v) for i, v in enumerate(series) if np.isfinite(v)]
        if len(points) > 1:
            draw.line(points, fill=colour, width=5 if name == "control" else 2)
        for x, y in points:
            draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=colour)
        draw.text((LEFT + 120 * k, HEIGHT - 22), f"- {name}", fill=colour, font=font)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
