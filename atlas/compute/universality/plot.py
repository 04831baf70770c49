"""The CKA of every layer pair of two models as a heatmap, drawn with PIL as the tuning
curves are (no plotting library): rows are model A's layers, columns model B's, each cell
shaded from white (0) to dark blue (1) and labelled with its value."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

CELL, LEFT, TOP, PAD = 44, 110, 46, 8
INK, LOW, HIGH = (40, 40, 40), np.array([255.0, 255.0, 255.0]), np.array([8.0, 48.0, 107.0])


def plot_cka(matrix: np.ndarray, rows: Sequence[str], columns: Sequence[str], title: str) -> Image.Image:
    """The heatmap of ``matrix`` (len(rows) x len(columns), values in [0, 1])."""
    width = LEFT + CELL * len(columns) + PAD
    height = TOP + CELL * len(rows) + PAD
    image = Image.new("RGB", (max(width, 8 * len(title) + 2 * PAD), height), "white")
    pen = ImageDraw.Draw(image)
    pen.text((PAD, 4), title, fill=INK)
    for j, name in enumerate(columns):
        pen.text((LEFT + j * CELL + 2, TOP - 14), name[:7], fill=INK)
    for i, name in enumerate(rows):
        top = TOP + i * CELL
        pen.text((PAD, top + CELL // 2 - 5), name[:16], fill=INK)
        for j in range(len(columns)):
            value = float(np.clip(matrix[i, j], 0.0, 1.0))
            colour = tuple(int(c) for c in LOW + (HIGH - LOW) * value)
            left = LEFT + j * CELL
            pen.rectangle([left, top, left + CELL - 1, top + CELL - 1], fill=colour, outline=(200, 200, 200))
            pen.text((left + 8, top + CELL // 2 - 5), f"{matrix[i, j]:.2f}", fill="white" if value > 0.5 else INK)
    return image
