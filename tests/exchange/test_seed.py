"""The InceptionV1 seed catalogue of published facts, loaded onto a registered model."""

import json
import re

import pytest
from conftest import inception_layers

from atlas import Catalog
from atlas.cli import main
from atlas.errors import InvalidInput, NotFound
from atlas.exchange.seed import seed_path


@pytest.fixture
def inception(catalog: Catalog) -> Catalog:
    catalog.add_model("inceptionv1", "inceptionv1", layers=inception_layers())
    return catalog


def test_seed_needs_the_model(catalog: Catalog):
    with pytest.raises(NotFound, match="model 'inceptionv1' is not registered: add it first"):
        catalog.load_seed("inceptionv1")
    with pytest.raises(NotFound, match="no seed named 'nope'"):
        catalog.load_seed("nope")


def test_inceptionv1_seed(inception: Catalog):
    report = inception.load_seed("inceptionv1")
    assert report.labels_added > 1000 and report.circuits_created == 6 and not report.conflicts
    assert report.links_added == len(json.loads(seed_path("inceptionv1").read_text())["links"]) == 18
    assert "18 family links (published, not measured)" in report.summary()
    curve = inception.feature("inceptionv1/mixed3b/379").label
    assert curve.text == "curve detector" and curve.status == "accepted"
    links = [e.body for e in inception.evidence(feature="inceptionv1/mixed3b/379")]
    assert "https://distill.pub/2020/circuits/curve-detectors/" in links
    # Unpublished drafts are never accepted.
    assert inception.feature("inceptionv1/mixed4a/223").label.status == "proposed"
    hilo = inception.family("High-Low Frequency")
    assert len(hilo.members) == 15 and ("inceptionv1/mixed3a/110", None) in hilo.members
    union = inception.circuit("dog-head-union")
    assert {e.dst for e in union.edges} == {"inceptionv1/mixed4b/418"} and len(union.edges) == 4
    assert union.claims and union.status == "proposed"
    car = inception.circuit("car-circuit")
    assert {e.src for e in car.edges} == {
        "inceptionv1/mixed4b/237", "inceptionv1/mixed4b/373", "inceptionv1/mixed4b/491"}
    assert {e.dst for e in car.edges} == {"inceptionv1/mixed4c/447"}  # Zoom In: mixed4b -> the car in mixed4c
    assert "circuit:dog-head-union" in [h.target for h in inception.search("union orientation")]
    superposition = inception.circuit("car-superposition")
    assert {(e.src, e.dst) for e in superposition.edges} == {
        ("inceptionv1/mixed4c/447", f"inceptionv1/mixed4d/{unit}") for unit in POLYSEMANTIC}

    # Reloading adds nothing and keeps what curators changed since.
    inception.set_label("inceptionv1/mixed3b/379", "curve detector, 10 o'clock", author="carl", expected_version=1)
    again = inception.load_seed("inceptionv1")
    assert again.labels_added == 0 and again.circuits_created == 0 and again.evidence_added == 0
    assert again.links_added == 0
    assert again.conflicts == [
        "inceptionv1/mixed3b/379: kept \"curve detector, 10 o'clock\", seed says 'curve detector'"
    ]
    assert len(inception.label_history("inceptionv1/mixed3b/379")) == 2


POLYSEMANTIC = (241, 277, 417)  # Zoom In: dog detectors of mixed4d that carry cars in superposition
# Curve Circuits, "3a Early Curve Family": early curves of a similar orientation excite a
# curve detector, those of the opposing orientation inhibit it (3a unit, 3b unit).
SIMILAR = {(147, 379), (81, 385), (71, 340), (145, 388)}
OPPOSING = {(145, 379), (71, 385), (81, 340), (147, 388)}
FIGURE = re.compile(r" \[figure: [^,\]]+, [^\]]+, https://distill\.pub/\S+/#[a-z0-9-]+\]$")


def test_no_seeded_family_spans_layers(seeded_inception: Catalog):
    inception = seeded_inception
    names = inception.family_names()
    assert len(names) == len(json.loads(seed_path("inceptionv1").read_text())["families"])
    for name in names:
        family = inception.family(name)
        layers = {address.rsplit("/", 1)[0] for address, _ in family.members}
        assert layers == {family.layer}, name
    # The article's one "Curves" family of two layers is two families now.
    early, curves = inception.family("Early Curves (mixed3a)"), inception.family("Curves (mixed3b)")
    assert (early.layer, len(early.members)) == ("inceptionv1/mixed3a", 11)
    assert (curves.layer, len(curves.members)) == ("inceptionv1/mixed3b", 10)
    assert inception.feature("inceptionv1/mixed3a/81").label.text == "early curve detector"
    # ... linked, not merged: published relations with their source and no score.
    linked = {(r.relation, r.src, r.dst): r for r in inception.family_relations("Early Curves (mixed3a)")}
    assert set(linked) == {("analogous", "Tiny Curves", "Early Curves (mixed3a)"),
                           ("analogous", "Early Curves (mixed3a)", "Curves (mixed3b)"),
                           ("inputs_of", "Early Curves (mixed3a)", "Curves (mixed3b)")}
    link = linked[("inputs_of", "Early Curves (mixed3a)", "Curves (mixed3b)")]
    assert (link.ends, link.method, link.score, link.stimuli) == ("families", "published", None, {})
    assert link.published and link.source == "https://distill.pub/2020/circuits/curve-circuits/"
    assert "circuit curve-circuit-3a-3b" in link.details["note"]
    assert inception.audit_log("family:Early Curves (mixed3a)->Curves (mixed3b)")[0].after["source"] == link.source


def test_seed_links_join_families_of_different_layers():
    data = json.loads(seed_path("inceptionv1").read_text())
    layer = {f["name"]: {a.rsplit("/", 1)[0] for a in f["members"]} for f in data["families"]}
    for link in data["links"]:
        assert link["source"] in data["sources"] and link["relation"] in ("analogous", "inputs of")
        assert layer[link["from"]] != layer[link["to"]], link
    assert {"from": "Early Curves (mixed3a)", "to": "Curves (mixed3b)", "relation": "inputs of"}.items() <= next(
        link for link in data["links"] if link["relation"] == "inputs of").items()


def test_polysemantic_units_are_dog_first_and_car_by_superposition(seeded_inception: Catalog):
    inception = seeded_inception
    for unit in POLYSEMANTIC:
        address = f"inceptionv1/mixed4d/{unit}"
        label = inception.feature(address).label
        assert label.text == "polysemantic: dog (primary) and car (superposition)"
        assert label.status == "proposed"
        assert "https://distill.pub/2020/circuits/zoom-in/" in [e.body for e in inception.evidence(feature=address)]
        assert inception.families_of(address) == ["Dogs and cars in superposition (mixed4d)"]
    # The only pure car detector the seed names is the one Zoom In shows, in mixed4c.
    cars = [name for name in inception.family_names() if "car" in name.lower() and "draft" not in name]
    assert sorted(cars) == ["Car (mixed4c)", "Car parts (mixed4b)", "Dogs and cars in superposition (mixed4d)"]


def test_curve_circuit_has_the_articles_pairs_and_signs(seeded_inception: Catalog):
    inception = seeded_inception
    circuit = inception.circuit("curve-circuit-3a-3b")
    unit = lambda address: int(address.rsplit("/", 1)[1])  # noqa: E731
    signed = {(unit(e.src), unit(e.dst)): e.sign for e in circuit.edges}
    assert signed == {**dict.fromkeys(SIMILAR, "excitatory"), **dict.fromkeys(OPPOSING, "inhibitory")}
    named = {f"inceptionv1/mixed3a/{a}" for a, _ in SIMILAR} | {f"inceptionv1/mixed3b/{b}" for _, b in SIMILAR}
    assert {address for address, _ in circuit.nodes} == named
    assert all(e.src.startswith("inceptionv1/mixed3a/") and e.dst.startswith("inceptionv1/mixed3b/")
               for e in circuit.edges)
    links = [e.body for e in inception.evidence(circuit="curve-circuit-3a-3b")]
    assert links == ["https://distill.pub/2020/circuits/curve-circuits/"]
    # The claim with an experiment edits the edge the article shows as excitatory.
    [tested] = [c for c in circuit.claims if c.experiment]
    assert tested.experiment["intervention"]["edges"] == [["inceptionv1/mixed3a/147", "inceptionv1/mixed3b/379"]]


def test_every_seeded_claim_names_its_figure(seeded_inception: Catalog):
    inception = seeded_inception
    data = json.loads(seed_path("inceptionv1").read_text())
    claims = [claim for circuit in data["circuits"] for claim in circuit.get("claims", [])]
    assert claims and all(set(claim["figure"]) == {"source", "section", "figure"} for claim in claims)
    stored = [c.prediction for name in inception.circuits() for c in inception.circuit(name).claims]
    assert len(stored) == len(claims)
    for prediction in stored:
        assert FIGURE.search(prediction), prediction
    assert any(p.endswith("/zoom-in/#claim-2-superposition]") for p in stored)
    assert any(p.endswith("/curve-circuits/#early-curve-family]") for p in stored)


def _hostile_seed(tmp_path, change) -> str:
    data = json.loads(seed_path("inceptionv1").read_text())
    change(data)
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(data))
    return str(path)


def _family(data: dict, name: str) -> dict:
    return next(f for f in data["families"] if f["name"] == name)


def _claim(data: dict) -> dict:
    return data["circuits"][0]["claims"][0]


HOSTILE = {
    "a family over two layers": (
        lambda d: _family(d, "Curves (mixed3b)")["members"].append("inceptionv1/mixed3a/81"),
        "family 'Curves (mixed3b)' is in layer inceptionv1/mixed3b; inceptionv1/mixed3a/81 is in another layer"),
    "an edge sign no one knows": (
        lambda d: d["circuits"][0]["edges"][0].update(sign="strongly"), "unknown circuit edge sign 'strongly'"),
    "an edge with extra fields": (
        lambda d: d["circuits"][0]["edges"][0].update(run="rm -rf /"), "a seed's circuit edge is"),
    "a link to no family": (
        lambda d: d["links"][0].update(to="Nope"), "family link names no family of this seed: 'Nope'"),
    "a link relation no one knows": (
        lambda d: d["links"][0].update(relation="causes"), "unknown family link relation 'causes'"),
    "a link relation that is not a name": (
        lambda d: d["links"][0].update(relation=["analogous"]), "a family link's from, to, relation and source are"),
    "a link note that rewrites the terminal": (
        lambda d: d["links"][0].update(note="fine\x1b[2J"), "a family link's note contains the control character"),
    "a link with a score no one measured": (
        lambda d: d["links"][0].update(score=0.9), "a seed's family link has from, to, relation, source and a note"),
    "a figure from an unknown source": (
        lambda d: _claim(d)["figure"].update(source="blog"), "claim figure names unknown source 'blog'"),
    "a figure anchor that is not one": (
        lambda d: _claim(d)["figure"].update(section="x\"><script>"), "claim figure needs a section anchor"),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_seed_is_refused_and_writes_nothing(inception: Catalog, tmp_path, case):
    change, message = HOSTILE[case]
    with pytest.raises(InvalidInput, match=re.escape(message)):
        inception.load_seed(_hostile_seed(tmp_path, change))
    assert inception.feature("inceptionv1/mixed3b/379").label is None
    assert inception.family_names() == [] and inception.circuits() == []


def test_cli_refuses_a_family_over_two_layers_in_one_line(inception: Catalog, db_url, blob_dir, tmp_path, capsys):
    change, message = HOSTILE["a family over two layers"]
    path = _hostile_seed(tmp_path, change)
    code = main(["--db", db_url, "--blobs", blob_dir, "--user", "alice", "import", "seed", path])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert err.startswith(f"atlas: error: {message}") and err.count("\n") == 1
    assert inception.family_names() == []


def test_seed_that_does_not_fit_writes_nothing(inception: Catalog, tmp_path):
    data = json.loads(seed_path("inceptionv1").read_text())
    data["labels"].append({"address": "inceptionv1/mixed3b/999", "text": "x", "status": "proposed", "sources": []})
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(InvalidInput, match="unit 999 is out of range"):
        inception.load_seed(str(bad))
    assert inception.feature("inceptionv1/mixed3b/379").label is None
