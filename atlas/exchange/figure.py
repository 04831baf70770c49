"""Circuit figures in the style of the Distill circuit diagrams, as PNG and SVG.

Layers are columns from input to output, each node is drawn as its feature
visualization (a grey tile with the unit number when none is computed yet) with its
label under it, and edges are coloured by sign (blue excites, red inhibits) and sized by
strength. PNG and SVG share one layout, so both figures of a circuit agree.
"""

from __future__ import annotations

import base64
import html
import io
import textwrap
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from atlas.catalog.graph import GraphEdge, GraphNode, Subgraph
from atlas.db.blobs import BlobStore
from atlas.errors import AtlasError

TILE = 96
COLUMN_GAP = 150
ROW_GAP = 56
MARGIN = 40
HEADER = 36
POSITIVE = (33, 102, 172)
NEGATIVE = (178, 24, 43)
NEUTRAL = (150, 150, 150)
LABEL_CHARS = 16


@dataclass(frozen=True)
class Layout:
    positions: dict[str, tuple[int, int]]  # top-left corner of each node's tile
    columns: list[tuple[str, int]]  # (layer title, x)
    width: int
    height: int


def layout(graph: Subgraph) -> Layout:
    columns: dict[tuple[str, int, str], list[GraphNode]] = {}
    for node in graph.nodes:
        columns.setdefault((node.model, node.layer_order, node.layer), []).append(node)
    tallest = max((len(nodes) for nodes in columns.values()), default=1)
    height = 2 * MARGIN + HEADER + tallest * (TILE + ROW_GAP)
    positions, titles = {}, []
    for index, ((model, _order, layer), nodes) in enumerate(sorted(columns.items())):
        x = MARGIN + index * (TILE + COLUMN_GAP)
        titles.append((f"{model}/{layer}" if len({m for m, _, _ in columns}) > 1 else layer, x))
        offset = (tallest - len(nodes)) * (TILE + ROW_GAP) // 2
        for row, node in enumerate(sorted(nodes, key=lambda n: (n.channel is None, n.channel or 0, n.address))):
            positions[node.address] = (x, MARGIN + HEADER + offset + row * (TILE + ROW_GAP))
    width = 2 * MARGIN + max(len(columns), 1) * (TILE + COLUMN_GAP) - COLUMN_GAP
    return Layout(positions, titles, width, height)


def _edge_style(edge: GraphEdge, peak: float) -> tuple[tuple[int, int, int], float]:
    colour = NEUTRAL if edge.sign == 0 else POSITIVE if edge.sign > 0 else NEGATIVE
    return colour, 1.0 + 7.0 * abs(edge.strength) / peak


def _caption(node: GraphNode) -> list[str]:
    unit = node.address.rsplit("/", 1)[-1]
    text = f"{unit} {node.label}" if node.label else unit
    return textwrap.wrap(text, LABEL_CHARS)[:2]


def _thumbnail(node: GraphNode, blobs: BlobStore | None) -> Image.Image | None:
    if node.thumbnail is None or blobs is None:
        return None
    try:
        return blobs.get_png(node.thumbnail).convert("RGB").resize((TILE, TILE), Image.Resampling.LANCZOS)
    except AtlasError:
        return None  # a missing thumbnail should not stop the figure


def _endpoints(plan: Layout, src: str, dst: str) -> tuple[tuple[int, int], tuple[int, int]]:
    (sx, sy), (dx, dy) = plan.positions[src], plan.positions[dst]
    return (sx + TILE, sy + TILE // 2), (dx, dy + TILE // 2)


def png(graph: Subgraph, blobs: BlobStore | None = None) -> bytes:
    plan = layout(graph)
    image = Image.new("RGB", (plan.width, plan.height), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    peak = max((abs(e.strength) for e in graph.edges), default=0.0) or 1.0
    for edge in sorted(graph.edges, key=lambda e: abs(e.strength)):
        colour, width = _edge_style(edge, peak)
        draw.line([*_endpoints(plan, edge.src, edge.dst)], fill=colour, width=max(1, round(width)))
    for title, x in plan.columns:
        draw.text((x, MARGIN), title, fill="black", font=font)
    for node in graph.nodes:
        x, y = plan.positions[node.address]
        thumb = _thumbnail(node, blobs)
        if thumb is None:
            draw.rectangle([x, y, x + TILE, y + TILE], fill=(230, 230, 230), outline=(160, 160, 160))
        else:
            image.paste(thumb, (x, y))
        for line_no, line in enumerate(_caption(node)):
            draw.text((x, y + TILE + 4 + 12 * line_no), line, fill="black", font=font)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def svg(graph: Subgraph, blobs: BlobStore | None = None) -> str:
    plan = layout(graph)
    peak = max((abs(e.strength) for e in graph.edges), default=0.0) or 1.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{plan.width}" height="{plan.height}" '
        f'viewBox="0 0 {plan.width} {plan.height}" font-family="sans-serif" font-size="11">',
        '<rect width="100%" height="100%" fill="white"/>',
    ]
    for edge in sorted(graph.edges, key=lambda e: abs(e.strength)):
        colour, width = _edge_style(edge, peak)
        (x1, y1), (x2, y2) = _endpoints(plan, edge.src, edge.dst)
        mid = (x1 + x2) / 2
        parts.append(
            f'<path d="M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}" fill="none" '
            f'stroke="rgb{colour}" stroke-width="{width:.2f}" stroke-opacity="0.8">'
            f"<title>{html.escape(edge.src)} → {html.escape(edge.dst)}: {edge.strength:.4g}</title></path>"
        )
    for title, x in plan.columns:
        parts.append(f'<text x="{x}" y="{MARGIN + 12}" font-weight="bold">{html.escape(title)}</text>')
    for node in graph.nodes:
        x, y = plan.positions[node.address]
        thumb = _thumbnail(node, blobs)
        if thumb is None:
            parts.append(f'<rect x="{x}" y="{y}" width="{TILE}" height="{TILE}" fill="#e6e6e6" stroke="#a0a0a0"/>')
        else:
            buffer = io.BytesIO()
            thumb.save(buffer, format="PNG")
            data = base64.b64encode(buffer.getvalue()).decode()
            parts.append(f'<image x="{x}" y="{y}" width="{TILE}" height="{TILE}" href="data:image/png;base64,{data}"/>')
        for line_no, line in enumerate(_caption(node)):
            parts.append(f'<text x="{x}" y="{y + TILE + 14 + 12 * line_no}">{html.escape(line)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
