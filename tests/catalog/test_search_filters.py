"""Search filters on data where the query has hits on both sides of every filter.

A filter test whose hits all lie on one side of the filter passes whether or not the
filter is applied (a mutation audit planted "search ignores has_evidence" and no test
noticed). Here the word "zebra" is in labels of two models, two layers, three label
statuses, two authors, inside and outside a family, with and without evidence, and in a
note and a circuit (which no feature filter keeps), so each filter must remove something
and keep something, and every assertion is the exact set.
"""

from __future__ import annotations

import pytest
from conftest import DEMO_LAYERS

from atlas import Catalog

# address: (label text, author of the current version, its status, has evidence, in family)
UNITS = {
    "demo/conv1/0": ("zebra stripes", "carl", "proposed", True, True),
    "demo/conv2/1": ("zebra edge", "rita", "accepted", False, False),
    "twin/conv1/0": ("zebra texture", "cora", "proposed", False, False),
    "demo/conv1/5": ("zebra fur", "rita", "disputed", True, True),  # a family is one layer: demo/conv1's
}
NOTE = ("evidence", "demo/conv1/5")  # a note that says "zebra" too
CIRCUIT = ("circuit", "circuit:zebra-circuit")  # by alice: no feature, so no feature filter keeps it


def labels(*addresses: str) -> set[tuple[str, str]]:
    return {("label", address) for address in addresses}


@pytest.fixture
def zebras(demo_catalog: Catalog) -> Catalog:
    cat = demo_catalog
    cat.add_model("twin", "demo_cnn", layers=DEMO_LAYERS, input_spec={"size": [64, 64]})
    cat.create_family("striped", "things with stripes")
    for address, (text, author, status, evidence, in_family) in UNITS.items():
        if author == "rita":  # a reviewer's verdict makes her the current version's author
            cat.set_label(address, text, author="cora")
            cat.review_label(address, status, author="rita")
        else:
            cat.set_label(address, text, status, author=author)
        if evidence and address != NOTE[1]:
            cat.add_evidence("note", "seen on striped images", feature=address, author="carl")
        if in_family:
            cat.add_family_member("striped", address)
    cat.add_evidence("note", "a zebra-like grating response", feature=NOTE[1], author="cora")
    cat.create_circuit("zebra-circuit", "stripes into zebras")
    return cat


def hits(cat: Catalog, **filters: object) -> set[tuple[str, str]]:
    found = [(h.kind, h.target) for h in cat.search("zebra", **filters)]
    assert len(found) == len(set(found)), "a document was returned twice"
    return set(found)


def test_without_filters_every_zebra_is_found(zebras: Catalog):
    assert hits(zebras) == labels(*UNITS) | {NOTE, CIRCUIT}


def test_has_evidence_keeps_exactly_the_units_with_evidence(zebras: Catalog):
    assert hits(zebras, has_evidence=True) == labels("demo/conv1/0", "demo/conv1/5") | {NOTE}
    assert hits(zebras, has_evidence=False) == labels("demo/conv2/1", "twin/conv1/0")


def test_model_filter(zebras: Catalog):
    assert hits(zebras, model="demo") == labels("demo/conv1/0", "demo/conv2/1", "demo/conv1/5") | {NOTE}
    assert hits(zebras, model="twin") == labels("twin/conv1/0")


def test_layer_filter_with_and_without_the_model(zebras: Catalog):
    assert hits(zebras, layer="conv1") == labels("demo/conv1/0", "twin/conv1/0", "demo/conv1/5") | {NOTE}
    assert hits(zebras, layer="twin/conv1") == labels("twin/conv1/0")
    assert hits(zebras, layer="demo/conv1") == labels("demo/conv1/0", "demo/conv1/5") | {NOTE}
    assert hits(zebras, layer="conv2") == labels("demo/conv2/1")


def test_status_filter_uses_the_current_label(zebras: Catalog):
    assert hits(zebras, status="proposed") == labels("demo/conv1/0", "twin/conv1/0")
    assert hits(zebras, status="accepted") == labels("demo/conv2/1")
    # The note is about a unit whose current label is disputed.
    assert hits(zebras, status="disputed") == labels("demo/conv1/5") | {NOTE}


def test_family_filter(zebras: Catalog):
    assert hits(zebras, family="striped") == labels("demo/conv1/0", "demo/conv1/5") | {NOTE}
    # A second family: each filter keeps its own members, not every unit in some family.
    zebras.create_family("spotted", "things with spots")
    zebras.add_family_member("spotted", "demo/conv2/1")
    assert hits(zebras, family="spotted") == labels("demo/conv2/1")
    assert hits(zebras, family="striped") == labels("demo/conv1/0", "demo/conv1/5") | {NOTE}


def test_author_filter_covers_every_kind_of_document(zebras: Catalog):
    assert hits(zebras, author="carl") == labels("demo/conv1/0")
    assert hits(zebras, author="rita") == labels("demo/conv2/1", "demo/conv1/5")
    assert hits(zebras, author="cora") == labels("twin/conv1/0") | {NOTE}
    assert hits(zebras, author="alice") == {CIRCUIT}


def test_filters_combine(zebras: Catalog):
    assert hits(zebras, model="twin", has_evidence=False) == labels("twin/conv1/0")
    assert hits(zebras, layer="conv1", has_evidence=True) == labels("demo/conv1/0", "demo/conv1/5") | {NOTE}
    assert hits(zebras, layer="conv1", has_evidence=False) == labels("twin/conv1/0")
    assert hits(zebras, family="striped", status="disputed", author="cora") == {NOTE}
    assert hits(zebras, model="demo", status="disputed") == labels("demo/conv1/5") | {NOTE}
    assert hits(zebras, model="twin", status="disputed") == set()
