"""The review queue pages through every waiting label (no cap at the oldest 100), filtered
by status, model, layer, author and age, oldest or newest first, with the right count."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from conftest import DEMO_LAYERS

from atlas import Catalog
from atlas.errors import InvalidInput, NotFound


@pytest.fixture
def crowded(demo_catalog: Catalog) -> tuple[Catalog, datetime]:
    """112 proposed labels over two models (carl wrote the demo's, cora demo-b's), then one
    disputed and one accepted; returns the catalogue and a moment between demo's and demo-b's."""
    cat = demo_catalog
    cat.add_model("demo-b", "demo_cnn", layers=DEMO_LAYERS)
    for layer in DEMO_LAYERS:
        for unit in range(layer["channels"]):
            cat.set_label(f"demo/{layer['name']}/{unit}", f"demo {layer['name']} unit {unit}", author="carl")
    between = datetime.now(UTC)
    for layer in DEMO_LAYERS:
        for unit in range(layer["channels"]):
            cat.set_label(f"demo-b/{layer['name']}/{unit}", f"b {layer['name']} unit {unit}", author="cora")
    cat.review_label("demo/conv1/0", "disputed", author="carl")
    cat.review_label("demo/conv1/1", "accepted", author="rita")
    return cat, between


def test_paging_reaches_every_waiting_label_once_in_order(crowded):
    cat, _ = crowded
    first = cat.review_queue(limit=50)
    assert first.total == 111  # 112 written, one accepted
    seen = [item.address for offset in range(0, 150, 50) for item in cat.review_queue(offset=offset, limit=50).items]
    assert len(seen) == len(set(seen)) == 111
    assert seen[0] == "demo/conv1/2"  # the oldest still waiting; conv1/0 was disputed later
    assert seen[-1] == "demo/conv1/0"
    newest = [item.address for item in cat.review_queue(newest_first=True, limit=111).items]
    assert newest == seen[::-1]


def test_filters_by_status_model_layer_author_and_age(crowded):
    cat, between = crowded
    assert [i.address for i in cat.review_queue(("disputed",)).items] == ["demo/conv1/0"]
    assert cat.review_queue(("accepted",)).total == 1
    demo_b = cat.review_queue(model="demo-b", limit=200)
    assert demo_b.total == 56 and {i.address.split("/")[0] for i in demo_b.items} == {"demo-b"}
    conv2 = cat.review_queue(model="demo", layer="conv2", limit=200)
    assert conv2.total == 16 and {i.address.rsplit("/", 1)[0] for i in conv2.items} == {"demo/conv2"}
    by_cora = cat.review_queue(author="cora", limit=200)
    assert by_cora.total == 56 and {i.author for i in by_cora.items} == {"cora"}
    # carl's disputed version of demo/conv1/0 was written after `between`.
    assert cat.review_queue(written_before=between, limit=200).total == 54
    recent = cat.review_queue(written_after=between, limit=200)
    assert recent.total == 57 and "demo/conv1/0" in {i.address for i in recent.items}
    assert cat.review_queue(model="demo", author="cora").total == 0
    assert cat.review_queue(author="nobody").total == 0


@pytest.mark.parametrize("kwargs, message", [
    ({"statuses": ("waiting",)}, "review statuses must be some of"),
    ({"statuses": ()}, "review statuses must be some of"),
    ({"layer": "conv1"}, "a layer filter needs its model"),
    ({"offset": -1}, "offset"),
    ({"limit": 10**9}, "limit"),
])
def test_bad_review_filters_are_refused_in_one_line(demo_catalog: Catalog, kwargs, message):
    with pytest.raises(InvalidInput, match=message):
        demo_catalog.review_queue(**kwargs)


def test_an_unknown_model_is_simply_not_matched(demo_catalog: Catalog):
    assert demo_catalog.review_queue(model="nope").total == 0
    with pytest.raises(NotFound):
        demo_catalog.layer_page("nope/conv1")
