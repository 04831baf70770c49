"""Graph queries and exports over a small stored graph (both dialects)."""

import io
import json
import xml.etree.ElementTree as ET

import networkx as nx
import numpy as np
import pytest
from PIL import Image

from atlas import Catalog, NewEdge
from atlas.errors import InvalidInput
from atlas.exchange import figure as figure_module
from atlas.exchange.export import render


@pytest.fixture
def wired(demo_catalog: Catalog) -> Catalog:
    """conv1/i -> conv2/j with strength (i - j) for i < 8, j < 4; conv2/j -> conv3/0 with
    strength j + 1 and a negative conv2/3 -> conv3/1."""
    edges = [NewEdge(f"demo/conv1/{i}", f"demo/conv2/{j}", "direct", float(i - j)) for i in range(8) for j in range(4)]
    edges += [NewEdge(f"demo/conv2/{j}", "demo/conv3/0", "direct", float(j + 1)) for j in range(4)]
    edges.append(NewEdge("demo/conv2/3", "demo/conv3/1", "direct", -2.0))
    edges.append(NewEdge("demo/conv1/7", "demo/conv3/0", "expanded", 0.5))
    demo_catalog.add_edges(edges)
    demo_catalog.set_label("demo/conv3/0", "curve detector")
    return demo_catalog


def addresses(graph) -> set[str]:
    return {n.address for n in graph.nodes}


def test_one_hop_inputs_follow_the_k_strongest(wired: Catalog):
    graph = wired.neighbourhood("demo/conv2/0", hops=1, k_per_node=3, direction="in")
    # conv2/0's inputs have strengths 0..7: the three strongest are conv1/7, 6, 5.
    assert addresses(graph) == {"demo/conv2/0", "demo/conv1/7", "demo/conv1/6", "demo/conv1/5"}
    assert all(e.dst == "demo/conv2/0" for e in graph.edges) and len(graph.edges) == 3


def test_two_hops_both_directions_and_min_strength(wired: Catalog):
    graph = wired.neighbourhood("demo/conv3/0", hops=2, k_per_node=2, direction="in")
    # conv3/0 <- conv2/3 (4), conv2/2 (3); conv2/3 <- conv1/7 (4), conv1/6 (3, ties with
    # conv1/0's -3 and excitation wins the tie); conv2/2 <- conv1/7 (5), conv1/6 (4).
    assert addresses(graph) == {"demo/conv3/0", "demo/conv2/3", "demo/conv2/2", "demo/conv1/7", "demo/conv1/6"}
    both = wired.neighbourhood("demo/conv2/3", hops=1, k_per_node=10, min_strength=2.0)
    assert {(e.src, e.dst) for e in both.edges if e.dst != "demo/conv2/3"} == {
        ("demo/conv2/3", "demo/conv3/0"), ("demo/conv2/3", "demo/conv3/1")}
    assert all(abs(e.strength) >= 2.0 for e in both.edges)
    expanded = wired.neighbourhood("demo/conv3/0", kinds=["expanded"])
    assert [(e.src, e.kind) for e in expanded.edges] == [("demo/conv1/7", "expanded")]


def test_paths(wired: Catalog):
    graph = wired.paths("demo/conv1/7", "demo/conv3/1", max_len=3)
    assert graph.paths == [["demo/conv1/7", "demo/conv2/3", "demo/conv3/1"]]
    several = wired.paths("demo/conv1/5", "demo/conv3/0", max_len=2)
    assert len(several.paths) == 4 and all(len(p) == 3 for p in several.paths)
    assert wired.paths("demo/conv3/0", "demo/conv1/5").paths == []  # edges are directed
    assert wired.paths("demo/conv1/7", "demo/conv3/0", kinds=["expanded"]).paths == [["demo/conv1/7", "demo/conv3/0"]]


def test_subgraph_and_bad_arguments(wired: Catalog):
    graph = wired.subgraph(["demo/conv1/1", "demo/conv2/0", "demo/conv3/0"])
    assert {(e.src, e.dst) for e in graph.edges} == {("demo/conv1/1", "demo/conv2/0"), ("demo/conv2/0", "demo/conv3/0")}
    with pytest.raises(InvalidInput, match="unknown edge kinds"):
        wired.neighbourhood("demo/conv3/0", kinds=["psychic"])
    with pytest.raises(InvalidInput, match="hops must be"):
        wired.neighbourhood("demo/conv3/0", hops=0)


@pytest.fixture
def circuit(wired: Catalog):
    wired.create_circuit("curve-demo", "curves from edges")
    wired.add_circuit_edge("curve-demo", "demo/conv2/3", "demo/conv3/0")
    wired.add_circuit_edge("curve-demo", "demo/conv2/3", "demo/conv3/1")
    wired.add_circuit_edge("curve-demo", "demo/conv1/7", "demo/conv2/3")
    image = np.zeros((32, 32, 3), dtype=np.uint8)
    image[:, :16] = (255, 200, 0)
    wired.add_artifact("demo/conv3/0", "vis.channel", {"steps": 1}, {"image": wired.blobs.put_png(image)})
    return wired.circuit_graph("curve-demo")


def test_node_link_json_schema(circuit, wired: Catalog):
    data = json.loads(render(circuit, "json"))
    assert (data["schema"], data["version"], data["directed"]) == ("atlas.graph", 1, True)
    nodes = {n["id"]: n for n in data["nodes"]}
    assert nodes["demo/conv3/0"]["label"] == "curve detector" and nodes["demo/conv3/0"]["thumbnail"]
    assert {(e["source"], e["target"], e["strength"]) for e in data["edges"]} == {
        ("demo/conv2/3", "demo/conv3/0", 4.0), ("demo/conv2/3", "demo/conv3/1", -2.0),
        ("demo/conv1/7", "demo/conv2/3", 4.0),
    }
    assert data["meta"]["circuit"] == "curve-demo"


def test_graphml_cytoscape_dot(circuit):
    parsed = nx.read_graphml(io.BytesIO(render(circuit, "graphml")))
    assert set(parsed.nodes) == {"demo/conv1/7", "demo/conv2/3", "demo/conv3/0", "demo/conv3/1"}
    assert parsed.number_of_edges() == 3
    cyto = json.loads(render(circuit, "cytoscape"))
    assert {e["data"]["source"] for e in cyto["elements"]["edges"]} == {"demo/conv2/3", "demo/conv1/7"}
    dot = render(circuit, "dot").decode()
    assert '"demo/conv2/3" -> "demo/conv3/1" [color="#b2182b"' in dot  # inhibition in red


def test_figures(circuit, wired: Catalog):
    svg = ET.fromstring(render(circuit, "svg", wired.blobs))
    ns = "{http://www.w3.org/2000/svg}"
    assert len(svg.findall(f"{ns}image")) == 1  # the one node with a visualization
    assert len(svg.findall(f"{ns}path")) == 3
    figure = Image.open(io.BytesIO(render(circuit, "png", wired.blobs))).convert("RGB")
    pixels = np.asarray(figure)
    assert figure.width > 3 * 96 and figure.height > 2 * 96
    assert ((pixels == (255, 200, 0)).all(axis=-1)).sum() > 500  # the thumbnail is drawn
    drawing = pixels[:-(figure_module.MARGIN + figure_module.LEGEND_ROW)]  # above the legend
    assert ((drawing == (178, 24, 43)).all(axis=-1)).sum() > 20  # a red (inhibitory) edge


def test_cli_graph_and_export(wired: Catalog, circuit, db_url, blob_dir, tmp_path, capsys):
    from atlas.cli import main

    base = ["--db", db_url, "--blobs", blob_dir, "--user", "alice"]
    assert main([*base, "graph", "paths", "demo/conv1/7", "demo/conv3/1"]) == 0
    assert "demo/conv1/7 -> demo/conv2/3 -> demo/conv3/1" in capsys.readouterr().out
    out = tmp_path / "curve.png"
    assert main([*base, "export", "circuit", "curve-demo", "--format", "png", "--out", str(out)]) == 0
    assert Image.open(out).format == "PNG"
    assert main([*base, "export", "circuit", "curve-demo", "--format", "png"]) == 1
    assert "give --out" in capsys.readouterr().err
