"""Exporting a circuit or a neighbourhood: node-link JSON, GraphML, Cytoscape.js, DOT.

Node-link JSON is the reference format; its schema is documented in docs/graph-schema.md
and versioned (``schema``/``version`` at the top) so readers can refuse what they don't
know. The other formats carry the same attributes, minus what a format cannot hold
(GraphML has no null: absent attributes are left out).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import asdict

import networkx as nx

from atlas.catalog.graph import GraphEdge, Subgraph
from atlas.db.blobs import BlobStore
from atlas.errors import InvalidInput
from atlas.exchange import figure
from atlas.registry import Registry

SCHEMA = "atlas.graph"
SCHEMA_VERSION = 1


def _edge_attributes(edge: GraphEdge) -> dict:
    """An edge's fields and its signed net mass (``net``), which readers need not recompute."""
    return {**asdict(edge), "net": edge.net}


def node_link(graph: Subgraph) -> dict:
    return {
        "schema": SCHEMA,
        "version": SCHEMA_VERSION,
        "directed": True,
        "meta": graph.meta,
        "nodes": [{"id": n.address, **asdict(n)} for n in graph.nodes],
        "edges": [{"source": e.src, "target": e.dst, **_edge_attributes(e)} for e in graph.edges],
        "paths": graph.paths,
    }


def to_json(graph: Subgraph) -> str:
    return json.dumps(node_link(graph), indent=2, sort_keys=False) + "\n"


def to_networkx(graph: Subgraph) -> nx.MultiDiGraph:
    out = nx.MultiDiGraph()
    for node in graph.nodes:
        out.add_node(node.address, **{k: v for k, v in asdict(node).items() if v is not None})
    for edge in graph.edges:
        attrs = {k: v for k, v in _edge_attributes(edge).items() if v is not None and k not in ("src", "dst")}
        out.add_edge(edge.src, edge.dst, key=edge.kind, **attrs)
    return out


def to_graphml(graph: Subgraph) -> str:
    buffer = io.BytesIO()
    nx.write_graphml(to_networkx(graph), buffer, encoding="utf-8")
    return buffer.getvalue().decode("utf-8")


def to_cytoscape(graph: Subgraph) -> dict:
    """Cytoscape.js elements JSON (what st-cytoscape and cytoscape.js read)."""
    return {
        "elements": {
            "nodes": [
                {"data": {"id": n.address, "label": n.label or n.address, **asdict(n)}}
                for n in graph.nodes
            ],
            "edges": [
                {"data": {"id": f"{e.src}->{e.dst}:{e.kind}", "source": e.src, "target": e.dst,
                          **_edge_attributes(e)}}
                for e in graph.edges
            ],
        },
        "data": {"schema": SCHEMA, "version": SCHEMA_VERSION, **graph.meta},
    }


def _dot_quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def to_dot(graph: Subgraph) -> str:
    """Graphviz DOT: layers as ranks left to right; ids quoted (``conv1:7`` is not a port);
    edges coloured by sign and labelled with their signed net mass, the legend as the
    graph's label."""
    lines = ["digraph circuit {", "  rankdir=LR;", '  node [shape=box, style="rounded,filled", fillcolor="#f7f7f7"];',
             f"  label={_dot_quote(figure.LEGEND_TEXT)}; labelloc=b; fontsize=10;"]
    layers: dict[tuple[str, int, str], list] = {}
    for node in graph.nodes:
        layers.setdefault((node.model, node.layer_order, node.layer), []).append(node)
    for index, ((model, _order, layer), nodes) in enumerate(sorted(layers.items())):
        lines.append(f"  subgraph cluster_{index} {{ label={_dot_quote(f'{model}/{layer}')}; rank=same;")
        for node in nodes:
            label = node.address.rsplit("/", 1)[-1] + (f"\n{node.label}" if node.label else "")
            lines.append(f"    {_dot_quote(node.address)} [label={_dot_quote(label)}];")
        lines.append("  }")
    peak = max((abs(e.strength) for e in graph.edges), default=0.0) or 1.0
    for edge in graph.edges:
        width = 0.5 + 4.0 * abs(edge.strength) / peak
        lines.append(
            f"  {_dot_quote(edge.src)} -> {_dot_quote(edge.dst)} "
            f'[color="{figure.sign_hex(edge.net)}", penwidth={width:.2f}, label={_dot_quote(f"{edge.net:+.3g}")}];'
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


Exporter = Callable[[Subgraph, "BlobStore | None"], bytes]

EXPORTERS: Registry[Exporter] = Registry("export format", error=InvalidInput)
"""Export formats by name: ``exporter(graph, blobs) -> bytes`` (``atlas.registry``; an
extension adds a format with ``@EXPORTERS.register("name")``)."""


@EXPORTERS.register("json")
def _json_bytes(graph: Subgraph, _blobs: BlobStore | None = None) -> bytes:
    return to_json(graph).encode()


@EXPORTERS.register("graphml")
def _graphml_bytes(graph: Subgraph, _blobs: BlobStore | None = None) -> bytes:
    return to_graphml(graph).encode()


@EXPORTERS.register("cytoscape")
def _cytoscape_bytes(graph: Subgraph, _blobs: BlobStore | None = None) -> bytes:
    return (json.dumps(to_cytoscape(graph), indent=2) + "\n").encode()


@EXPORTERS.register("dot")
def _dot_bytes(graph: Subgraph, _blobs: BlobStore | None = None) -> bytes:
    return to_dot(graph).encode()


@EXPORTERS.register("svg")
def _svg_bytes(graph: Subgraph, blobs: BlobStore | None = None) -> bytes:
    return figure.svg(graph, blobs).encode()


EXPORTERS.register("png", figure.png)

FORMATS = tuple(EXPORTERS.names(sort=False))
"""The built-in formats in menu order (what the CLI and the app offer)."""


def render(graph: Subgraph, fmt: str, blobs: BlobStore | None = None) -> bytes:
    """The graph in a registered format (see FORMATS), as bytes ready to write to a file."""
    return EXPORTERS.get(fmt)(graph, blobs)
