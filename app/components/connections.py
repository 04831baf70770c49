"""A unit's strongest input or output connections as cards: the other unit's
visualization and label, the kernel heatmap, the signed net mass (and a weight's norm),
and a link to that unit."""

from __future__ import annotations

import streamlit as st

from atlas import Catalog
from atlas.catalog.records import EdgeInfo
from components.kernels import kernel_uri
from components.links import unit_link
from components.text import plain
from components.thumbs import THUMBNAIL_PX, thumbnail

PER_ROW = 4


def connection_cards(cat: Catalog, edges: list[EdgeInfo], other_end: str,
                     pooled: dict[int, str] | None = None) -> None:
    """``other_end`` is ``"src"`` for inputs and ``"dst"`` for outputs; ``pooled`` maps the
    id of an edge whose kernel is in pooled coordinates to the pools it passes."""
    if not edges:
        st.caption("None stored.")
        return
    pooled = pooled or {}
    others = [getattr(edge, other_end) for edge in edges]
    nodes = {node.address: node for node in cat.subgraph(others).nodes}
    for start in range(0, len(edges), PER_ROW):
        for column, edge in zip(st.columns(PER_ROW), edges[start:start + PER_ROW]):
            node = nodes[getattr(edge, other_end)]
            with column.container(border=True):
                pictures = st.columns(2)
                pictures[0].image(thumbnail(cat, node.thumbnail), width=THUMBNAIL_PX)
                heatmap = kernel_uri(cat, edge) if edge.kernel_sha256 else None
                if heatmap:
                    pictures[1].image(heatmap)
                unit_link(node.address, node.address.split("/", 1)[1])
                kernel = f" · pooled kernel ({plain(pooled[edge.id])})" if edge.id in pooled else ""
                st.caption(f"{edge.figures} · {plain(node.label) if node.label else 'unlabelled'}{kernel}")
