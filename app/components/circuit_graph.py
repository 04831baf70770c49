"""A circuit drawn as a graph with each unit's visualization on its node (st-cytoscape).

Elements are the catalogue's own Cytoscape.js export with a thumbnail data URI added to
each node, so what the app draws is what ``atlas export --format cytoscape`` writes.
Edges are coloured by the sign of their net mass as in the exported figures (blue
excites, red inhibits), with a legend under the graph. Clicking nodes selects them; the
selection comes back to Python for the page's actions.
"""

from __future__ import annotations

import streamlit as st
from st_cytoscape import cytoscape

from atlas import Catalog
from atlas.catalog import Subgraph
from atlas.exchange import figure
from atlas.exchange.export import to_cytoscape
from components.thumbs import thumbnail

STYLESHEET = [
    {"selector": "node", "style": {
        "label": "data(caption)", "background-image": "data(image)", "background-fit": "cover",
        "shape": "round-rectangle", "width": 72, "height": 72, "font-size": 10,
        "text-valign": "bottom", "text-margin-y": 4, "text-wrap": "wrap", "text-max-width": 110,
        "border-width": 1, "border-color": "#999",
    }},
    {"selector": "node:selected", "style": {"border-width": 4, "border-color": "#f39c12"}},
    {"selector": "edge", "style": {
        "curve-style": "bezier", "target-arrow-shape": "triangle", "width": "data(width)",
        "line-color": "data(colour)", "target-arrow-color": "data(colour)",
    }},
]
MARKDOWN_COLOURS = {figure.EXCITATORY: "blue", figure.INHIBITORY: "red", figure.UNSIGNED: "gray"}
LEGEND = " · ".join(f":{MARKDOWN_COLOURS[rgb]}[━━ {text}]" for text, rgb in figure.LEGEND) + " · line width: strength"


def elements(cat: Catalog, graph: Subgraph) -> list[dict]:
    data = to_cytoscape(graph)["elements"]
    peak = max((abs(e.strength) for e in graph.edges), default=0.0) or 1.0
    for node in data["nodes"]:
        node["data"]["image"] = thumbnail(cat, node["data"]["thumbnail"])
        unit = node["data"]["address"].rsplit("/", 1)[-1]
        node["data"]["caption"] = f"{node['data']['layer']}/{unit}\n{node['data']['label'] or ''}"
    for edge in data["edges"]:
        edge["data"]["width"] = 1 + 5 * abs(edge["data"]["strength"]) / peak
        edge["data"]["colour"] = figure.sign_hex(edge["data"]["net"])
    return data["nodes"] + data["edges"]


def draw(cat: Catalog, graph: Subgraph, key: str) -> list[str]:
    """Draw the graph, layers left to right; returns the addresses of selected nodes."""
    layout = {"name": "breadthfirst", "directed": True, "spacingFactor": 1.4, "animationDuration": 0}
    selected = cytoscape(elements(cat, graph), STYLESHEET, height="460px", layout=layout,
                         selection_type="additive", key=key)
    if graph.edges:
        st.caption(LEGEND)
    return list((selected or {}).get("nodes", []))
