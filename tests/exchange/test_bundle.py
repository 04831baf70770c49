"""Bundles: export, import into an empty or a populated catalogue, and hostile bundles."""

import io
import json
import zipfile
from collections.abc import Iterator

import numpy as np
import pytest
from conftest import CatalogTemplates, with_demo

from atlas import Catalog, NewEdge
from atlas.catalog.records import NewFamily
from atlas.exchange.bundle.format import BundleError, write_zip

STIMULI = {"dataset": {"kind": "synthetic", "n": 100, "seed": 0, "size": 64}, "sweeps": []}


def fill_rich(cat: Catalog) -> None:
    """Something of every kind a bundle carries."""
    with_demo(cat)
    cat.set_label("demo/conv2/3", "edge", author="carl", confidence=0.4)
    cat.set_label("demo/conv2/3", "curve detector", author="cora", expected_version=1)
    cat.review_label("demo/conv2/3", "accepted", reason="clear curves", author="rita")
    cat.set_label("demo/conv3/0", "circle", author="carl")
    kernel = cat.blobs.put_array(np.arange(25, dtype=np.float16).reshape(5, 5))
    cat.add_edges([NewEdge("demo/conv1/1", "demo/conv2/3", "direct", 1.5, 2.0, -0.5, kernel),
                   NewEdge("demo/conv2/3", "demo/conv3/0", "expanded", -0.7)])
    image = cat.blobs.put_png(np.full((8, 8, 3), 90, dtype=np.uint8))
    cat.add_evidence("note", "curves *everywhere*", feature="demo/conv2/3", author="carl")
    cat.add_evidence("image", "a crop", feature="demo/conv2/3", blobs=[image], author="cora")
    cat.add_artifact("demo/conv2/3", "vis.channel", {"steps": 64}, {"image": image},
                     outcome={"value": 0.003, "contrast": 0.25})  # travels, and is flagged there too
    cat.add_direction("demo/conv3", "roundness", np.linspace(0, 1, 32))
    cat.create_circuit("curves", "curves from edges", author="carl")
    cat.add_circuit_edge("curves", "demo/conv1/1", "demo/conv2/3", note="excites", sign="excitatory")
    cat.add_claim("curves", "Zeroing conv1/1 lowers conv2/3", {
        "intervention": {"kind": "edit_edges", "scale": 0.0, "edges": [["demo/conv1/1", "demo/conv2/3"]]},
        "stimuli": {"sweep": "orientation", "steps": 4, "samples": 2},
        "measure": {"unit": "demo/conv2/3", "reduce": "max", "site": "pre"},
        "prediction": [{"condition": "*", "op": "<=", "value": -0.5}]})
    cat.add_evidence("link", "https://example.org/curves", circuit="curves")
    cat.create_family("curve detector", "curves in any model")
    cat.add_family_member("curve detector", "demo/conv2/3")
    # Relations of each kind of end: features (a unit and a direction), layers (with their
    # CKA heatmap, a blob), families (measured, and published with a source and no score).
    cat.add_relations("analogous", "pooled.best", STIMULI, "demo/conv2", "demo/conv3",
                      [(3, 0, 0.8), (3, "roundness", -0.25)])
    heatmap = cat.blobs.put_png(np.full((4, 4, 3), 200, dtype=np.uint8))
    cat.add_relations("similar", "cka.linear", STIMULI, "demo/conv2", "demo/conv3", [(None, None, 0.5)],
                      {"heatmap": heatmap})
    cat.add_analogous_families(NewFamily("analogue A (conv1)", "", ["demo/conv1/1"]),
                               NewFamily("analogue B (conv2)", "", ["demo/conv2/5"]), STIMULI, 0.7, author="carl")
    cat.create_family("circles", "round things", author="carl")
    cat.add_family_member("circles", "demo/conv3/0", author="carl")
    cat.add_family_link("curve detector", "circles", "inputs_of", "https://example.org/curves#figure-2",
                        note="curves feed circles", author="carl")


@pytest.fixture
def rich(catalog_templates: CatalogTemplates, dialect: str, tmp_path) -> Iterator[Catalog]:
    """A catalogue (users as in ``catalog``) with something of every kind a bundle carries,
    built once per session and dialect and copied for each test."""
    yield from catalog_templates.copy("rich", fill_rich, dialect, tmp_path)


@pytest.fixture
def other(other_db_url: str, tmp_path) -> Catalog:
    cat = Catalog.open(other_db_url, str(tmp_path / "other-blobs"), user="olga")
    cat.add_user("olga", "admin")
    yield cat
    cat.close()


def export(cat: Catalog, origin: str | None = None) -> bytes:
    buffer = io.BytesIO()
    cat.export_bundle(buffer, origin=origin)
    return buffer.getvalue()


def test_search_lists_the_same_order_after_a_bundle_round_trip(rich: Catalog, other: Catalog):
    """Equal hits are ordered by what they say, not by row ids, which an import renumbers."""
    for unit in (9, 4, 7, 1):
        rich.set_label(f"demo/conv3/{unit}", "round thing", author="carl")
    rich.add_evidence("note", "round, like conv3/9", feature="demo/conv3/0", author="carl")
    other.import_bundle(io.BytesIO(export(rich)))
    order = [(h.kind, h.target) for h in rich.search("round")]
    assert [(h.kind, h.target) for h in other.search("round")] == order
    assert order[:4] == [("label", f"demo/conv3/{unit}") for unit in (1, 4, 7, 9)]


def test_round_trip_into_an_empty_catalogue_is_byte_identical(rich: Catalog, other: Catalog):
    first = export(rich, origin="lab-a")
    report = other.import_bundle(io.BytesIO(first))
    assert report.conflicts == []
    assert report.added["labels"] == 4 and report.added["edges"] == 2 and report.added["evidence"] == 3
    history = other.label_history("demo/conv2/3")
    assert [(h.text, h.status, h.author) for h in history] == [
        ("edge", "proposed", "carl@lab-a"), ("curve detector", "proposed", "cora@lab-a"),
        ("curve detector", "accepted", "rita@lab-a")]
    assert {u.name: u.role for u in other.users()}["carl@lab-a"] == "viewer"  # imports grant no rights
    assert other.top_inputs("demo/conv2/3")[0].kernel_sha256
    assert other.blobs.get_array(other.top_inputs("demo/conv2/3")[0].kernel_sha256)[4, 4] == 24
    assert other.circuit("curves").claims[0].prediction == "Zeroing conv1/1 lowers conv2/3"
    assert other.circuit("curves").edges == [("demo/conv1/1", "demo/conv2/3", "excites", "excitatory")]
    assert other.search("everywhere")[0].target == "demo/conv2/3"
    assert other.feature("demo/conv3/dir:roundness").kind == "direction"
    assert report.added["relations"] == 5
    assert all_relations(other) == all_relations(rich)
    [published] = other.family_relations("circles")
    assert (published.relation, published.method, published.score, published.stimuli) == (
        "inputs_of", "published", None, {})
    assert published.source == "https://example.org/curves#figure-2" and published.details == {
        "note": "curves feed circles"}
    [cka] = other.layer_similarity("demo", "demo")
    assert other.blobs.exists(cka.details["heatmap"])
    # Under the same origin, the same content is the same bytes.
    assert export(other, origin="lab-a") == first


def all_relations(cat: Catalog) -> list:
    """Every relation of the rich catalogue, without the job that measured it."""
    out = cat.relations("demo/conv2", "demo/conv3") + cat.layer_similarity("demo", "demo")
    out += [r for name in ("analogue A (conv1)", "curve detector") for r in cat.family_relations(name)]
    assert {r.ends for r in out} == {"features", "layers", "families"}
    return [(r.relation, r.method, r.ends, r.src, r.dst, r.score, r.stimuli, r.details, r.source) for r in out]


def test_a_bundle_from_before_relations_travelled_still_imports(rich: Catalog, other: Catalog):
    """Bundles written before relations were exported have no relations member (and so no
    heatmap blob): they import as they did, with no relations."""
    heatmap = rich.layer_similarity("demo", "demo")[0].details["heatmap"]
    members = {}
    with zipfile.ZipFile(io.BytesIO(export(rich))) as archive:
        for info in archive.infolist():
            if info.filename not in ("manifest.json", "relations.jsonl", f"blobs/{heatmap}"):
                members[info.filename] = archive.read(info)
    old = io.BytesIO()
    write_zip(old, members, origin="lab-old")
    report = other.import_bundle(io.BytesIO(old.getvalue()))
    assert report.added["labels"] == 4 and report.added["relations"] == 0 and report.conflicts == []
    assert other.family_relations("circles") == [] and other.layer_similarity("demo", "demo") == []
    assert not other.blobs.exists(heatmap)


def test_reimport_adds_nothing(rich: Catalog):
    bundle = export(rich)
    report = rich.import_bundle(io.BytesIO(bundle))
    assert sum(report.added.values()) == 0 and report.conflicts == []
    assert export(rich) == bundle


def test_merge_reports_conflicts_and_overwrites_nothing(rich: Catalog, other: Catalog):
    other.add_model("demo", "demo_cnn", layers=[
        {"name": "conv1", "kind": "conv", "channels": 8, "spatial_shape": [32, 32]},
        {"name": "conv2", "kind": "conv", "channels": 16, "spatial_shape": [16, 16]},
        {"name": "conv3", "kind": "conv", "channels": 32, "spatial_shape": [8, 8]}])
    other.set_label("demo/conv2/3", "texture", author="olga")
    other.create_circuit("curves", "our own description", author="olga")
    other.add_relations("analogous", "pooled.best", STIMULI, "demo/conv2", "demo/conv3", [(3, 0, 0.1)])
    report = other.import_bundle(io.BytesIO(export(rich)))
    assert any("demo/conv2/3: label histories diverged" in c for c in report.conflicts)
    assert any("circuit curves" in c for c in report.conflicts)
    texts = [h.text for h in other.label_history("demo/conv2/3")]
    assert texts[0] == "texture" and texts[1:] == ["edge", "curve detector", "curve detector"]
    assert other.circuit("curves").description == "our own description"
    assert "relations demo/conv2 -> demo/conv3 (analogous, pooled.best): other results here over the same " \
           "stimuli; kept ours" in report.conflicts
    assert [(r.src, r.dst, r.score) for r in other.relations("demo/conv2", "demo/conv3")] == [
        ("demo/conv2/3", "demo/conv3/0", 0.1)]
    assert all_relations(other)[1:] == all_relations(rich)[2:]  # the rest came in
    assert [e.action for e in other.audit_log()][0] == "bundle.import"


def _rezip(bundle: bytes, change) -> bytes:
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        members = {i.filename: archive.read(i) for i in archive.infolist()}
    change(members)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def _tampered(members):
    members["labels.jsonl"] = members["labels.jsonl"].replace(b"curve detector", b"cat detector")


def _escaping(members):
    members["../../etc/evil"] = b"x"


def _future(members):
    manifest = json.loads(members["manifest.json"])
    manifest["version"] = 99
    members["manifest.json"] = json.dumps(manifest).encode()


def _missing_blob(members):
    del members[next(n for n in members if n.startswith("blobs/"))]


@pytest.mark.parametrize(
    "change, message",
    [(_tampered, "fails its sha256 check"), (_escaping, "outside its format"),
     (_future, "unknown bundle schema version 99"), (_missing_blob, "does not match its manifest")],
)
def test_bad_bundles_are_rejected_with_nothing_written(rich: Catalog, other: Catalog, change, message):
    bad = _rezip(export(rich), change)
    with pytest.raises(BundleError, match=message):
        other.import_bundle(io.BytesIO(bad))
    assert other.models() == [] and [u.name for u in other.users()] == ["olga"]


def test_truncated_bundle(rich: Catalog, other: Catalog):
    bundle = export(rich)
    with pytest.raises(BundleError, match="truncated|corrupted"):
        other.import_bundle(io.BytesIO(bundle[: len(bundle) // 2]))
    assert other.models() == []


def test_manifest_must_name_every_member(tmp_path):
    out = io.BytesIO()
    write_zip(out, {"models.jsonl": b""}, origin="lab-a")
    with zipfile.ZipFile(out, "a") as archive:
        archive.writestr("labels.jsonl", b"{}\n")
    from atlas.exchange.bundle.format import StagedBundle

    with pytest.raises(BundleError, match="unlisted"):
        StagedBundle(io.BytesIO(out.getvalue()), tmp_path)
