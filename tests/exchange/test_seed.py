"""The InceptionV1 seed catalogue of published facts, loaded onto a registered model."""

import json

import pytest

from atlas import Catalog
from atlas.errors import InvalidInput, NotFound
from atlas.exchange.seed import seed_path

INCEPTION_LAYERS = [
    ("conv2d0", 64), ("conv2d1", 64), ("conv2d2", 192), ("mixed3a", 256), ("mixed3b", 480),
    ("mixed4a", 508), ("mixed4b", 512), ("mixed4c", 512), ("mixed4d", 528), ("mixed4e", 832),
    ("mixed5a", 832), ("mixed5b", 1024),
]


@pytest.fixture
def inception(catalog: Catalog) -> Catalog:
    catalog.add_model(
        "inceptionv1", "inceptionv1",
        layers=[{"name": n, "kind": "conv" if n.startswith("conv") else "concat", "channels": c}
                for n, c in INCEPTION_LAYERS],
    )
    return catalog


def test_seed_needs_the_model(catalog: Catalog):
    with pytest.raises(NotFound, match="model 'inceptionv1' is not registered: add it first"):
        catalog.load_seed("inceptionv1")
    with pytest.raises(NotFound, match="no seed named 'nope'"):
        catalog.load_seed("nope")


def test_inceptionv1_seed(inception: Catalog):
    report = inception.load_seed("inceptionv1")
    assert report.labels_added > 1000 and report.circuits_created == 6 and not report.conflicts
    curve = inception.feature("inceptionv1/mixed3b/379").label
    assert curve.text == "curve detector" and curve.status == "accepted"
    links = [e.body for e in inception.evidence(feature="inceptionv1/mixed3b/379")]
    assert "https://distill.pub/2020/circuits/curve-detectors/" in links
    # Unpublished drafts are never accepted.
    assert inception.feature("inceptionv1/mixed4a/223").label.status == "proposed"
    hilo = inception.family("High-Low Frequency")
    assert len(hilo.members) == 15 and ("inceptionv1/mixed3a/110", None) in hilo.members
    union = inception.circuit("dog-head-union")
    assert {d for _, d, _ in union.edges} == {"inceptionv1/mixed4b/418"} and len(union.edges) == 4
    assert union.claims and union.status == "proposed"
    car = inception.circuit("car-circuit")
    assert {s for s, _, _ in car.edges} == {
        "inceptionv1/mixed4b/237", "inceptionv1/mixed4b/373", "inceptionv1/mixed4b/491"}
    assert "circuit:dog-head-union" in [h.target for h in inception.search("union orientation")]
    assert len(inception.circuit("car-superposition").edges) == 3
    assert len(inception.circuit("curve-circuit-3a-3b").edges) == 16

    # Reloading adds nothing and keeps what curators changed since.
    inception.set_label("inceptionv1/mixed3b/379", "curve detector, 10 o'clock", author="carl", expected_version=1)
    again = inception.load_seed("inceptionv1")
    assert again.labels_added == 0 and again.circuits_created == 0 and again.evidence_added == 0
    assert again.conflicts == [
        "inceptionv1/mixed3b/379: kept \"curve detector, 10 o'clock\", seed says 'curve detector'"
    ]
    assert len(inception.label_history("inceptionv1/mixed3b/379")) == 2


def test_seed_that_does_not_fit_writes_nothing(inception: Catalog, tmp_path):
    data = json.loads(seed_path("inceptionv1").read_text())
    data["labels"].append({"address": "inceptionv1/mixed3b/999", "text": "x", "status": "proposed", "sources": []})
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(InvalidInput, match="unit 999 is out of range"):
        inception.load_seed(str(bad))
    assert inception.feature("inceptionv1/mixed3b/379").label is None
