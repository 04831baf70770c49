"""Kernel heatmaps: the spatial weights of one connection, blue for excitation and red for
inhibition (the colours of the circuit figures), scaled to the kernel's own peak so even a
weak connection shows its shape."""

from __future__ import annotations

import numpy as np
import streamlit as st
from PIL import Image

from atlas import Catalog
from atlas.catalog.records import EdgeInfo
from components.thumbs import image_uri

CELL_PX = 12
POSITIVE = np.array([33, 102, 172], dtype=np.float32)
NEGATIVE = np.array([178, 24, 43], dtype=np.float32)
WHITE = np.array([255, 255, 255], dtype=np.float32)


def heatmap(kernel: np.ndarray, cell: int = CELL_PX) -> Image.Image:
    """An RGB image of a 2-D kernel (a scalar weight is a 1x1 kernel)."""
    values = np.atleast_2d(np.asarray(kernel, dtype=np.float32))
    peak = float(np.abs(values).max()) or 1.0
    t = (values / peak)[..., None]
    rgb = np.where(t >= 0, WHITE + t * (POSITIVE - WHITE), WHITE - t * (NEGATIVE - WHITE))
    image = Image.fromarray(rgb.round().astype(np.uint8), "RGB")
    return image.resize((values.shape[1] * cell, values.shape[0] * cell), Image.Resampling.NEAREST)


@st.cache_data(max_entries=10_000, show_spinner=False)
def kernel_uri(_cat: Catalog, edge: EdgeInfo) -> str | None:
    """The heatmap of an edge's kernel, None when it has none (cached per edge)."""
    kernel = _cat.edge_kernel(edge)
    return None if kernel is None else image_uri(heatmap(kernel))
