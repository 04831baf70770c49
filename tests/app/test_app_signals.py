"""The signals a researcher expects on the app's pages: each unit's activation histogram
over the dataset beside its examples, class names of output units, two units side by
side, the stored graph around a unit and between two, and directions as browsable
features. Real parts: examples computed by a real model on real synthetic images, stored
in the catalogue and read back by the pages through AppTest, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest
import torch
from app_seed import RICH
from streamlit.testing.v1 import AppTest
from test_app import app, cat, links, open_page, sections, sqlite_only, texts  # noqa: F401 - fixtures

from atlas import Catalog
from atlas.compute.datasets import SyntheticShapes
from atlas.compute.examples import store_examples, top_examples
from atlas.compute.models.demo_cnn import DemoCNN

IMAGES = 40
CLASSES = ["cat", "dog", "ship"]


def compute_examples(cat: Catalog, units: list[int], directions: dict | None = None):
    """Real dataset examples of demo/conv3 (a DemoCNN of the catalogue's widths), stored."""
    torch.manual_seed(0)
    model = DemoCNN((8, 16, 32, 32, 32)).eval()
    result = top_examples(model, "conv3", SyntheticShapes(IMAGES, image_size=32), units=units, k=3,
                          batch_size=8, directions=directions)
    store_examples(cat, "demo", result, {"dataset": f"synthetic:{IMAGES}", "k": 3})
    return result


def captions_of(block) -> str:
    return "\n".join(str(element.value) for element in block.get("caption"))


def link_targets(at: AppTest, page: str) -> list[dict]:
    return [parse_qs(link.proto.query_string) for link in at.get("page_link") if link.proto.page == page]


def test_unit_page_draws_the_activation_histogram_and_where_the_examples_fall(app: AppTest, cat: Catalog):
    result = compute_examples(cat, [4])
    spread = result.distributions[0]["max"]
    last = max(i for i, count in enumerate(spread.counts) if count)
    best = float(result.top[0]["value"][0])
    open_page(app, "unit", address="demo/conv3/4")
    [tab] = [tab for tab in app.tabs if tab.label == "Dataset examples"]
    shown = captions_of(tab)
    assert (f"largest per image pre-activation over {IMAGES} images: mean {spread.mean:.3g}" in shown
            and f"the top example ({best:+.3g}) is in bin {last + 1} of {len(spread.counts)}" in shown)
    assert f"smallest per image pre-activation over {IMAGES} images" in shown
    [chart] = tab.get("vega_lite_chart")
    spec = json.loads(chart.proto.spec)
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["bar", "rule"]
    # A run stored before histograms were recorded says so instead of drawing one.
    open_page(app, "unit", address=RICH)
    [tab] = [tab for tab in app.tabs if tab.label == "Dataset examples"]
    assert "No activation histogram recorded" in captions_of(tab) and not tab.get("vega_lite_chart")


def add_classifier(cat: Catalog) -> None:
    """A model whose last layer is linear with one unit per registered class."""
    cat.add_model("clf", "demo_cnn", layers=[
        {"name": "conv1", "kind": "conv", "channels": 3, "spatial_shape": [8, 8]},
        {"name": "fc", "kind": "linear", "channels": 3, "spatial_shape": None}],
        input_spec={"shape": [3, 32, 32], "classes": CLASSES})


@sqlite_only
def test_output_units_show_their_class_and_search_finds_it(app: AppTest, cat: Catalog):
    add_classifier(cat)
    open_page(app, "unit", address="clf/fc/1")
    assert "class: dog" in texts(app, "caption")
    open_page(app, "unit", address="clf/conv1/1")  # a hidden layer: no class, though it has 3 units too
    assert "class:" not in texts(app, "caption")
    open_page(app, "layer", model="clf", layer="fc")
    assert [c for c in texts(app, "caption").splitlines() if c.startswith("class:")] == [
        "class: cat · unlabelled", "class: dog · unlabelled", "class: ship · unlabelled"]
    open_page(app, "search", q="shi")
    found = sections(app.main)["Output units whose class matches"]
    assert [e.proto.label for e in found if e.type == "page_link"] == ["clf/fc/2 · class: ship"]


@sqlite_only
def test_two_units_side_by_side_with_their_connection(app: AppTest, cat: Catalog):
    compute_examples(cat, [0])
    open_page(app, "unit", address=RICH)
    assert link_targets(app, "pair")[0]["a"] == [RICH]
    open_page(app, "pair", a="demo/conv1/1", b=RICH)
    connection = sections(app.main)["Stored connections between them"]
    assert [e.value for e in connection if e.type == "markdown"] == [
        f"`demo/conv1/1` → `{RICH}` · direct weights · -2"]
    assert "label: **curve detector** · proposed" in texts(app)
    assert "No dataset examples computed yet." in texts(app, "caption")  # demo/conv1/1 has none
    open_page(app, "pair", a="demo/conv3/0", b=RICH)  # both have examples: two histograms
    assert len(app.get("vega_lite_chart")) == 1  # the seeded examples of RICH recorded none
    connection = sections(app.main)["Stored connections between them"]
    assert [e.value for e in connection if e.type == "markdown"] == [
        f"`{RICH}` → `demo/conv3/0` · direct weights · +0.5"]
    assert app.query_params["a"] == "demo/conv3/0" and app.query_params["b"] == RICH
    open_page(app, "pair", a="demo/conv3/0", b="demo/conv3/5")
    assert "None stored, in either direction" in texts(app, "caption")
    open_page(app, "pair", a="demo/conv3/0", b="demo/conv9/1")
    [error] = app.error
    assert "conv9" in error.value and "\n" not in error.value


@sqlite_only
def test_neighbourhood_and_paths_drawn_from_the_url(app: AppTest):
    open_page(app, "unit", address=RICH)
    assert link_targets(app, "graph")[0]["address"] == [RICH]
    open_page(app, "graph", address=RICH, hops="1")
    assert "8 units and 7 edges (direct weights) within 1 hop of demo/conv2/3" in texts(app, "caption")
    units = [e.proto.label for e in sections(app.main)["Units"] if e.type == "page_link"]
    assert units[:5] == [f"demo/conv1/{c}" for c in range(4)] + [f"{RICH} · curve detector"]
    app.selectbox(key="graph-direction").set_value("out").run()
    assert "4 units and 3 edges" in texts(app, "caption") and app.query_params["direction"] == "out"
    app.number_input(key="graph-hops-neighbourhood").set_value(2).run()
    assert app.query_params["hops"] == "2" and "within 2 hops" in texts(app, "caption")


@sqlite_only
def test_paths_between_two_units(app: AppTest):
    open_page(app, "graph", **{"from": "demo/conv1/2", "to": "demo/conv3/1", "hops": "2"})
    assert "1 path of at most 2 edges (direct weights) from demo/conv1/2 to demo/conv3/1." in texts(app, "caption")
    assert "`demo/conv1/2` → `demo/conv2/3` → `demo/conv3/1`" in texts(app)


@sqlite_only
@pytest.mark.parametrize(("query", "error"), [
    ({"address": RICH, "hops": "99"}, "hops must be an integer from 1 to 6, not 99"),
    ({"address": RICH, "hops": "two"}, "hops must be an integer from 1 to 6, not 'two'"),
    ({"address": "demo/conv9/0"}, "unknown layer"),
    ({"address": "demo/conv2/3/../../x"}, "address"),
    ({"from": RICH, "to": "demo/conv3/1", "hops": "7"}, "max_len must be an integer from 1 to 6, not 7"),
])
def test_hostile_graph_urls_are_refused_in_one_line(app: AppTest, query: dict, error: str):
    open_page(app, "graph", **query)
    [shown] = app.error
    assert error in shown.value and "\n" not in shown.value
    assert not app.get("page_link") or "Units" not in sections(app.main)


def test_directions_are_linked_features_with_their_own_signals(app: AppTest, cat: Catalog):
    vector = [1.0 if c in (2, 5) else 0.0 for c in range(32)]
    cat.add_direction_bytes("demo/conv3", "two-five", json.dumps(vector).encode(), "v.json", author="carl")
    compute_examples(cat, [0], directions=cat.direction_vectors("demo/conv3", ["two-five"]))
    open_page(app, "layer", model="demo", layer="conv3")
    targets = link_targets(app, "unit")
    assert {"address": ["demo/conv3/dir:two-five"], "as": ["carl"]} in targets
    open_page(app, "unit", address="demo/conv3/dir:two-five")
    assert app.title[0].value == "demo/conv3/dir:two-five"
    [tab] = [tab for tab in app.tabs if tab.label == "Dataset examples"]
    assert len(tab.get("image")) == 2 and f"over {IMAGES} images" in captions_of(tab)
    [tab] = [tab for tab in app.tabs if tab.label == "Connections"]
    assert "None stored." in captions_of(tab)
