"""Circuit figures in the style of the Distill circuit diagrams, as PNG and SVG.

Layers are columns from input to output, each node is drawn as its feature
visualization (a grey tile with the unit number when none is computed yet) with its
label under it, and edges are coloured by the sign of their net mass (blue excites, red
inhibits, as in the Circuits articles) and sized by strength, with a legend under the
figure. PNG and SVG share one layout, so both figures of a circuit agree; the DOT export
and the app's circuit graph colour edges by the same rule (``sign_rgb``).
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
LEGEND_ROW = 28
LEGEND_LINE = 24
LABEL_CHARS = 16
EXCITATORY = (33, 102, 172)  # blue
INHIBITORY = (178, 24, 43)  # red
UNSIGNED = (153, 153, 153)  # a curated edge with no stored weight
LEGEND = (("excitatory (net > 0)", EXCITATORY), ("inhibitory (net < 0)", INHIBITORY),
          ("no stored weight", UNSIGNED))
LEGEND_TEXT = "blue: excitatory (net > 0) · red: inhibitory (net < 0) · grey: no stored weight · width: strength"


def sign_rgb(net: float) -> tuple[int, int, int]:
    """An edge's colour by the sign of its net mass: the one rule of every figure, export
    and the app's graph."""
    return UNSIGNED if net == 0 else EXCITATORY if net > 0 else INHIBITORY


def sign_hex(net: float) -> str:
    return "#{:02x}{:02x}{:02x}".format(*sign_rgb(net))


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
    height = 2 * MARGIN + HEADER + tallest * (TILE + ROW_GAP) + (LEGEND_ROW if graph.edges else 0)
    positions, titles = {}, []
    for index, ((model, _order, layer), nodes) in enumerate(sorted(columns.items())):
        x = MARGIN + index * (TILE + COLUMN_GAP)
        titles.append((f"{model}/{layer}" if len({m for m, _, _ in columns}) > 1 else layer, x))
        offset = (tallest - len(nodes)) * (TILE + ROW_GAP) // 2
        for row, node in enumerate(sorted(nodes, key=lambda n: (n.channel is None, n.channel or 0, n.address))):
            positions[node.address] = (x, MARGIN + HEADER + offset + row * (TILE + ROW_GAP))
    width = max(2 * MARGIN + max(len(columns), 1) * (TILE + COLUMN_GAP) - COLUMN_GAP,
                _legend_width() if graph.edges else 0)
    return Layout(positions, titles, width, height)


def _legend_width() -> int:
    return 2 * MARGIN + len(LEGEND) * (LEGEND_LINE + 8 + 7 * max(len(text) for text, _ in LEGEND))


def _legend_entries(plan: Layout) -> list[tuple[int, int, str, tuple[int, int, int]]]:
    """(x, y of the line's left end, text, colour) of each legend entry, under the figure."""
    step = (_legend_width() - 2 * MARGIN) // len(LEGEND)
    y = plan.height - MARGIN - LEGEND_ROW // 2
    return [(MARGIN + i * step, y, text, colour) for i, (text, colour) in enumerate(LEGEND)]


def _edge_style(edge: GraphEdge, peak: float) -> tuple[tuple[int, int, int], float]:
    return sign_rgb(edge.net), 1.0 + 7.0 * abs(edge.strength) / peak


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
    for x, y, text, colour in _legend_entries(plan) if graph.edges else ():
        draw.line([(x, y), (x + LEGEND_LINE, y)], fill=colour, width=4)
        draw.text((x + LEGEND_LINE + 6, y - 6), text, fill="black", font=font)
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
            f"<title>{html.escape(edge.src)} → {html.escape(edge.dst)}: {html.escape(edge.figures)}</title></path>"
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
    for x, y, text, colour in _legend_entries(plan) if graph.edges else ():
        parts.append(f'<line x1="{x}" y1="{y}" x2="{x + LEGEND_LINE}" y2="{y}" stroke="rgb{colour}" stroke-width="4"/>'
                     f'<text x="{x + LEGEND_LINE + 6}" y="{y + 4}">{html.escape(text)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
