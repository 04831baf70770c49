"""Exports carry an edge's sign: the shipped demo's inhibitory conv4/58 -> conv5/21 and
conv5/21's most excitatory input, in node-link JSON, Cytoscape, GraphML, DOT, SVG and PNG
(red and blue, with a legend)."""

import io
import json
import xml.etree.ElementTree as ET

import networkx as nx
import numpy as np
import pytest
from PIL import Image
from signed_demo import SRC, conv5_kernel_sums, store_shipped_edges

from atlas import Catalog
from atlas.exchange import figure
from atlas.exchange.export import render

INHIBITORY_EDGE = (f"demo/conv4/{SRC}", "demo/conv5/21")


@pytest.fixture
def signed(catalog: Catalog):
    unit = store_shipped_edges(catalog, "demo")
    excitatory = f"demo/conv4/{int(conv5_kernel_sums()[21].argmax())}"
    return catalog.subgraph([INHIBITORY_EDGE[0], excitatory, unit]), excitatory


def test_json_cytoscape_and_graphml_carry_the_net_mass(signed):
    graph, excitatory = signed
    sums = conv5_kernel_sums()
    edges = {(e["source"], e["target"]): e for e in json.loads(render(graph, "json"))["edges"]}
    inhibitory = edges[INHIBITORY_EDGE]
    assert inhibitory["net"] == pytest.approx(float(sums[21, SRC]), rel=1e-4) and inhibitory["net"] < -1
    assert inhibitory["strength"] > 0
    assert edges[(excitatory, "demo/conv5/21")]["net"] > 0
    cyto = {(e["data"]["source"], e["data"]["target"]): e["data"]
            for e in json.loads(render(graph, "cytoscape"))["elements"]["edges"]}
    assert cyto[INHIBITORY_EDGE]["net"] == inhibitory["net"]
    parsed = nx.read_graphml(io.BytesIO(render(graph, "graphml")))
    [(_, _, data)] = [e for e in parsed.edges(data=True) if e[:2] == INHIBITORY_EDGE]
    assert data["net"] == pytest.approx(inhibitory["net"])


def test_dot_colours_and_labels_by_sign_with_a_legend(signed):
    graph, excitatory = signed
    dot = render(graph, "dot").decode()
    inhibitory = next(line for line in dot.splitlines() if line.strip().startswith(f'"{INHIBITORY_EDGE[0]}" ->'))
    assert 'color="#b2182b"' in inhibitory and 'label="-1.41"' in inhibitory
    assert 'color="#2166ac"' in next(line for line in dot.splitlines() if line.strip().startswith(f'"{excitatory}" ->'))
    assert "red: inhibitory (net < 0)" in dot and "blue: excitatory (net > 0)" in dot


def test_figures_draw_inhibition_red_and_a_legend(signed):
    graph, _ = signed
    svg = ET.fromstring(render(graph, "svg"))
    ns = "{http://www.w3.org/2000/svg}"
    titles = {p.find(f"{ns}title").text: p.get("stroke") for p in svg.findall(f"{ns}path")}
    [(title, stroke)] = [(t, s) for t, s in titles.items() if t.startswith(INHIBITORY_EDGE[0])]
    assert "net -1.41 · norm 0.487" in title and stroke == f"rgb{figure.INHIBITORY}"
    legend = [t.text for t in svg.findall(f"{ns}text")]
    assert {"excitatory (net > 0)", "inhibitory (net < 0)"} <= set(legend)
    pixels = np.asarray(Image.open(io.BytesIO(render(graph, "png"))).convert("RGB"))
    legend_top = pixels.shape[0] - figure.MARGIN - figure.LEGEND_ROW
    drawing, legend_row = pixels[:legend_top], pixels[legend_top:]

    def count(area: np.ndarray, rgb: tuple[int, int, int]) -> int:
        return int((area == rgb).all(axis=-1).sum())

    assert count(drawing, figure.INHIBITORY) > 20 and count(drawing, figure.EXCITATORY) > 20  # the two edges
    assert min(count(legend_row, rgb) for _, rgb in figure.LEGEND) >= figure.LEGEND_LINE * 3  # the legend's lines
