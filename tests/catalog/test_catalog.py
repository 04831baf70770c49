"""The catalogue API on a real database (both dialects)."""

from datetime import datetime

import numpy as np
import pytest
from conftest import DEMO_LAYERS

from atlas import Catalog, NewEdge
from atlas.catalog import artifacts
from atlas.catalog.artifacts import NewArtifact
from atlas.catalog.records import UserInfo
from atlas.catalog.resolve import unit_ids
from atlas.errors import InvalidInput, NotFound, PermissionDenied


def test_models_layers_and_unit_features(demo_catalog: Catalog):
    layers = demo_catalog.layers("demo")
    assert [(l.name, l.channels, l.order) for l in layers] == [("conv1", 8, 0), ("conv2", 16, 1), ("conv3", 32, 2)]
    assert layers[0].spatial_shape == (32, 32)
    feature = demo_catalog.feature("demo/conv3/31")
    assert (feature.kind, feature.channel, feature.label) == ("unit", 31, None)
    added = demo_catalog.add_layer("demo", "fc", "linear", 10)
    assert added.order == 3 and demo_catalog.feature("demo/fc/9").channel == 9


def test_failed_model_registration_leaves_nothing(catalog: Catalog):
    bad = [{"name": "conv1", "kind": "conv", "channels": 8}, {"name": "conv2", "kind": "conv", "channels": 0}]
    with pytest.raises(InvalidInput, match="positive channel count"):
        catalog.add_model("broken", "demo_cnn", layers=bad)
    assert catalog.models() == []
    assert [e.action for e in catalog.audit_log()] == ["user.add"] * 5


@pytest.mark.parametrize(
    "address, message",
    [
        ("demo/nolayer/3", "unknown layer 'nolayer' in model 'demo' \\(layers: conv1, conv2, conv3\\)"),
        ("nomodel/conv1/3", "unknown model 'nomodel' \\(models: demo\\)"),
        ("demo/conv1/8", "unit 8 is out of range: layer demo/conv1 has 8 channels"),
        ("demo/conv1/dir:nothing", "unknown feature"),
    ],
)
def test_unknown_features_say_what_exists(demo_catalog: Catalog, address, message):
    with pytest.raises(NotFound, match=message):
        demo_catalog.feature(address)


def test_labels_are_append_only_versions(demo_catalog: Catalog):
    first = demo_catalog.set_label("demo/conv2/3", "curve detector", confidence=0.6, author="carl",
                                   expected_version=0)
    second = demo_catalog.set_label("demo/conv2/3", "curve detector (left)", author="cora",
                                    expected_version=1)
    accepted = demo_catalog.review_label("demo/conv2/3", "accepted", reason="clear", author="rita")
    assert (first.version, second.version, accepted.version) == (1, 2, 3)
    history = demo_catalog.label_history("demo/conv2/3")
    assert [(h.text, h.status, h.author) for h in history] == [
        ("curve detector", "proposed", "carl"),
        ("curve detector (left)", "proposed", "cora"),
        ("curve detector (left)", "accepted", "rita"),
    ]
    current = demo_catalog.feature("demo/conv2/3").label
    assert current.version == 3 and current.status == "accepted" and current.reason == "clear"


def test_label_history_keeps_every_field_of_every_version(demo_catalog: Catalog):
    unit = "demo/conv2/3"
    first = demo_catalog.set_label(unit, "edge", confidence=0.0, reason="fires on edges", author="carl")
    demo_catalog.set_label(unit, "curve", confidence=1.0, author="cora")  # both bounds are allowed
    demo_catalog.review_label(unit, "rejected", reason="too broad", author="rita")
    assert (first.address, first.author, first.confidence, first.reason) == (unit, "carl", 0.0, "fires on edges")
    history = demo_catalog.label_history(unit)
    assert [(h.address, h.version, h.text, h.status, h.confidence, h.reason, h.author, h.self_review)
            for h in history] == [
        (unit, 1, "edge", "proposed", 0.0, "fires on edges", "carl", False),
        (unit, 2, "curve", "proposed", 1.0, None, "cora", False),
        (unit, 3, "curve", "rejected", 1.0, "too broad", "rita", False),
    ]
    assert all(isinstance(h.created_at, datetime) for h in history)
    assert history[0].created_at <= history[1].created_at <= history[2].created_at
    assert demo_catalog.feature(unit).label == history[-1]
    # The search index knows the current version's author.
    assert [hit.target for hit in demo_catalog.search("curve", author="rita")] == [unit]
    assert demo_catalog.search("curve", author="cora") == []


def test_a_self_review_is_judged_on_who_last_wrote_the_text_of_that_feature(demo_catalog: Catalog):
    """The versions that count are this feature's, newest first, back to the last change
    of text: carl wrote "curve" first, but rita wrote it again after cora changed it."""
    unit = "demo/conv2/3"
    demo_catalog.set_label(unit, "curve", author="carl")
    demo_catalog.set_label(unit, "edge", author="cora")
    demo_catalog.set_label(unit, "curve", author="rita")
    assert demo_catalog.review_label(unit, "accepted", author="rita").self_review
    demo_catalog.set_label("demo/conv2/5", "edge", author="carl")
    # rita wrote labels of other features, newer and with other texts: carl's text is carl's.
    assert not demo_catalog.review_label("demo/conv2/5", "accepted", author="rita").self_review
    assert demo_catalog.set_label("demo/conv2/6", "blob", "accepted", author="rita").self_review
    assert [h.self_review for h in demo_catalog.label_history(unit)] == [False, False, False, True]
    assert demo_catalog.feature(unit).label.self_review


def test_every_curated_write_is_audited_with_before_and_after(demo_catalog: Catalog):
    demo_catalog.set_label("demo/conv2/3", "edge", author="carl")
    demo_catalog.set_label("demo/conv2/3", "curve", author="cora")
    entries = demo_catalog.audit_log("demo/conv2/3")
    # The fixture's catalogue acts as the admin alice, writing for carl and cora.
    assert [(e.user, e.on_behalf_of, e.action) for e in entries] == [
        ("alice", "cora", "label.set"), ("alice", "carl", "label.set")]
    assert entries[0].before["text"] == "edge" and entries[0].after["text"] == "curve"
    assert entries[1].before is None


def test_roles_limit_who_writes(demo_catalog: Catalog):
    with pytest.raises(PermissionDenied, match="'vic' is a viewer and cannot set a label to 'proposed'"):
        demo_catalog.set_label("demo/conv1/0", "edge", author="vic")
    with pytest.raises(PermissionDenied, match="needs reviewer"):
        demo_catalog.set_label("demo/conv1/0", "edge", status="accepted", author="carl")
    with pytest.raises(PermissionDenied, match="cannot add users"):
        demo_catalog.add_user("eve", "admin", by="carl")
    with pytest.raises(NotFound, match="unknown user 'mallory'"):
        demo_catalog.set_label("demo/conv1/0", "edge", author="mallory")
    assert demo_catalog.label_history("demo/conv1/0") == []


def test_an_admin_changes_a_role_audited_and_keeps_one_admin(demo_catalog: Catalog):
    assert demo_catalog.set_role("vic", "curator") == UserInfo("vic", "curator")
    assert demo_catalog.get_user("vic").role == "curator"
    [entry] = demo_catalog.audit_log("user:vic", limit=1)
    assert (entry.user, entry.action, entry.before, entry.after) == (
        "alice", "user.set_role", {"role": "viewer"}, {"role": "curator"})
    with pytest.raises(PermissionDenied, match="'rita' is a reviewer and cannot change roles"):
        demo_catalog.as_user("rita").set_role("carl", "admin")
    with pytest.raises(InvalidInput, match="'alice' is the last admin"):
        demo_catalog.set_role("alice", "viewer")
    with pytest.raises(InvalidInput, match="unknown role 'owner'"):
        demo_catalog.set_role("vic", "owner")
    with pytest.raises(NotFound, match="unknown user 'mallory'"):
        demo_catalog.set_role("mallory", "viewer")
    demo_catalog.set_role("rita", "admin")
    demo_catalog.set_role("alice", "viewer")  # no longer the last admin
    assert {u.name: u.role for u in demo_catalog.users()}["alice"] == "viewer"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"text": "  "}, "^a label needs some text$"),
        ({"text": None}, "^a label needs some text$"),
        ({"text": "x" * 2001}, "^label text is 2001 characters; the limit is 2000$"),
        ({"text": "ok", "status": "maybe"},
         r"^unknown label status 'maybe' \(one of proposed, accepted, disputed, rejected\)$"),
        ({"text": "ok", "confidence": 1.5}, "between 0 and 1"),
        ({"text": "ok", "confidence": True}, "between 0 and 1"),
        ({"text": "ok", "confidence": "0.5"}, "between 0 and 1"),
        ({"text": "ok", "reason": "a\x00b"}, r"^reason contains the control character U\+0000"),
    ],
)
def test_bad_labels_are_refused(demo_catalog: Catalog, kwargs, message):
    with pytest.raises(InvalidInput, match=message):
        demo_catalog.set_label("demo/conv1/0", **kwargs)


def test_evidence_on_features_and_circuits(demo_catalog: Catalog):
    demo_catalog.add_evidence("note", "Fires on **curves**", feature="demo/conv2/3", author="carl")
    sha = demo_catalog.blobs.put_png(np.zeros((4, 4, 3), dtype=np.uint8))
    demo_catalog.add_evidence("image", "dataset crop", feature="demo/conv2/3", blobs=[sha])
    items = demo_catalog.evidence(feature="demo/conv2/3")
    assert [(i.kind, i.author) for i in items] == [("note", "carl"), ("image", "alice")]
    assert items[1].blobs == [sha]
    with pytest.raises(InvalidInput, match="http or https"):
        demo_catalog.add_evidence("link", "javascript:alert(1)", feature="demo/conv2/3")
    with pytest.raises(InvalidInput, match="not in the blob store"):
        demo_catalog.add_evidence("image", "", feature="demo/conv2/3", blobs=["a" * 64])
    with pytest.raises(InvalidInput, match="exactly one"):
        demo_catalog.add_evidence("note", "x")
    demo_catalog.create_circuit("curves")
    demo_catalog.add_evidence("link", "https://distill.pub/2020/circuits/curve-circuits/", circuit="curves")
    assert demo_catalog.evidence(circuit="curves")[0].target == "circuit:curves"


def test_circuits_with_nodes_edges_and_claims(demo_catalog: Catalog):
    demo_catalog.add_edges([NewEdge("demo/conv1/1", "demo/conv2/3", "direct", 2.5)])
    demo_catalog.create_circuit("curves", "curve detectors built from edges", author="carl")
    demo_catalog.add_circuit_node("curves", "demo/conv3/5", role="output")
    circuit = demo_catalog.add_circuit_edge("curves", "demo/conv1/1", "demo/conv2/3", note="excites")
    assert circuit.edges == [("demo/conv1/1", "demo/conv2/3", "excites", None)]  # no sign stated
    with pytest.raises(InvalidInput, match="unknown circuit edge sign 'positive'"):
        demo_catalog.add_circuit_edge("curves", "demo/conv2/3", "demo/conv3/5", sign="positive")
    circuit = demo_catalog.add_circuit_edge("curves", "demo/conv2/3", "demo/conv3/5", sign="inhibitory")
    assert circuit.edges[1] == ("demo/conv2/3", "demo/conv3/5", None, "inhibitory")
    assert circuit.edges[1].sign == "inhibitory"
    demo_catalog.remove_circuit_edge("curves", "demo/conv2/3", "demo/conv3/5")
    assert {n for n, _ in circuit.nodes} == {"demo/conv3/5", "demo/conv1/1", "demo/conv2/3"}
    circuit = demo_catalog.add_claim(
        "curves", "Zeroing demo/conv1/1 lowers demo/conv2/3 on curve images",
        {"intervention": {"kind": "ablate_units", "units": ["demo/conv1/1"]},
         "stimuli": {"dataset": {"kind": "synthetic", "n": 90, "seed": 1, "size": 64}},
         "measure": {"unit": "demo/conv2/3"}, "prediction": [{"condition": "curve", "op": "<=", "value": -0.5}]},
    )
    assert circuit.claims[0].status == "untested"
    with pytest.raises(InvalidInput, match="unknown fields"):  # a free-form experiment no program can run
        demo_catalog.add_claim("curves", "Something", {"kind": "ablation", "units": ["demo/conv1/1"]})
    demo_catalog.set_claim_status(circuit.claims[0].id, "supported", "dropped 80%", author="rita")
    circuit = demo_catalog.remove_circuit_node("curves", "demo/conv1/1")
    assert circuit.edges == [] and len(circuit.nodes) == 2
    assert demo_catalog.circuit("curves").claims[0].status == "supported"
    with pytest.raises(InvalidInput, match="already exists"):
        demo_catalog.create_circuit("curves")
    with pytest.raises(NotFound, match="unknown circuit"):
        demo_catalog.circuit("nope")


def test_an_artifacts_outcome_flags_a_failed_visualization_and_hostile_outcomes_are_refused(demo_catalog: Catalog):
    cat = demo_catalog
    image = cat.blobs.put_png(np.full((8, 8, 3), 90, dtype=np.uint8))
    cat.add_artifact("demo/conv3/1", "vis.channel", {"steps": 1}, {"image": image},
                     outcome={"value": 2.5, "contrast": 0.004})
    cat.add_artifact("demo/conv3/1", "vis.negative", {"steps": 1}, {"image": image},
                     outcome={"value": -3.0, "contrast": 0.2})  # a negative render is read the other way
    cat.add_artifact("demo/conv3/2", "vis.channel", {"steps": 1}, {"image": image}, outcome={"value": 0.5})
    flags = {(a.address, a.kind): a.flag for n in (1, 2) for a in cat.artifacts(f"demo/conv3/{n}")}
    assert flags == {("demo/conv3/1", "vis.channel"): "flat image (contrast 0.004)",
                     ("demo/conv3/1", "vis.negative"): None, ("demo/conv3/2", "vis.channel"): None}
    for hostile in ({"value": float("nan")}, {"value": True}, {"value": {"nested": 1}}, ["value", 1],
                    {"": 1.0}, {f"k{i}": 0.0 for i in range(9)}):
        with pytest.raises(InvalidInput, match="outcome must be at most 8 named finite numbers"):
            cat.add_artifact("demo/conv3/3", "vis.channel", {"steps": 1}, {"image": image}, outcome=hostile)
    assert cat.artifacts("demo/conv3/3") == []


def test_layer_progress_counts_units_visualizations_and_labels_per_layer(demo_catalog: Catalog):
    cat = demo_catalog
    image = cat.blobs.put_png(np.full((8, 8, 3), 90, dtype=np.uint8))
    for unit in (0, 1, 2):
        cat.add_artifact(f"demo/conv2/{unit}", "vis.channel", {"steps": 1}, {"image": image})
    cat.add_artifact("demo/conv2/0", "vis.channel", {"steps": 2}, {"image": image})  # a re-render: still one unit
    cat.add_artifact("demo/conv2/3", "vis.negative", {"steps": 1}, {"image": image})  # not the grid's picture
    cat.add_direction("demo/conv2", "mix", np.ones(16))  # a direction is not a unit
    cat.set_label("demo/conv2/1", "edge", author="carl")
    cat.set_label("demo/conv2/2", "curve", "accepted", author="rita")
    cat.set_label("demo/conv3/4", "dog", author="carl")
    cat.review_label("demo/conv3/4", "rejected", author="rita")
    progress = [(p.model, p.layer, p.units, p.visualized, p.labels) for p in cat.layer_progress()]
    assert progress == [("demo", "conv1", 8, 0, {}), ("demo", "conv2", 16, 3, {"proposed": 1, "accepted": 1}),
                        ("demo", "conv3", 32, 0, {"rejected": 1})]


def test_circuit_models_name_the_models_of_each_circuits_nodes(demo_catalog: Catalog):
    cat = demo_catalog
    cat.add_model("demo-b", "demo_cnn", layers=DEMO_LAYERS)
    cat.create_circuit("mixed", author="carl")
    cat.create_circuit("empty", author="carl")
    cat.create_circuit("b", author="carl")
    for circuit, address in (("mixed", "demo-b/conv1/0"), ("mixed", "demo/conv2/1"), ("mixed", "demo/conv3/1"),
                             ("b", "demo-b/conv3/2")):
        cat.add_circuit_node(circuit, address, author="carl")
    assert cat.circuit_models() == {"mixed": ["demo", "demo-b"], "empty": [], "b": ["demo-b"]}


def test_circuit_update_checks_version(demo_catalog: Catalog):
    created = demo_catalog.create_circuit("c1", "first")
    updated = demo_catalog.update_circuit("c1", created.version, description="second")
    assert updated.version == created.version + 1
    from atlas.errors import VersionConflict

    with pytest.raises(VersionConflict, match=f"version {updated.version} is newer"):
        demo_catalog.update_circuit("c1", created.version, description="stale")
    assert demo_catalog.circuit("c1").description == "second"


def test_a_family_is_one_layer_of_one_model(demo_catalog: Catalog):
    assert demo_catalog.create_family("curve detector", "oriented curves").layer is None
    demo_catalog.add_family_member("curve detector", "demo/conv2/3")
    family = demo_catalog.add_family_member("curve detector", "demo/conv2/7", note="another orientation")
    assert family.members == [("demo/conv2/3", None), ("demo/conv2/7", "another orientation")]
    assert family.layer == "demo/conv2"
    with pytest.raises(InvalidInput) as refused:
        demo_catalog.add_family_member("curve detector", "demo/conv3/7", author="carl")
    assert str(refused.value) == (
        "family 'curve detector' is in layer demo/conv2; demo/conv3/7 is in another layer "
        "(a family is one layer of one model: make a family in that layer instead)")
    assert demo_catalog.family("curve detector") == family  # unchanged, no member added
    assert demo_catalog.families_of("demo/conv3/7") == []
    assert [e.action for e in demo_catalog.audit_log(entity="family:curve detector")] == [
        "family.add_member", "family.add_member", "family.create"]


def test_top_inputs_and_outputs(demo_catalog: Catalog):
    edges = [NewEdge(f"demo/conv1/{i}", "demo/conv2/0", "direct", float(i) - 3.5) for i in range(8)]
    edges += [NewEdge("demo/conv1/7", f"demo/conv2/{j}", "direct", 1.0 / (j + 1)) for j in range(1, 5)]
    assert demo_catalog.add_edges(edges) == 12
    top = demo_catalog.top_inputs("demo/conv2/0", k=3)
    # Ranked by magnitude: inhibition is as strong a connection as excitation.
    assert [(e.src, e.strength) for e in top] == [("demo/conv1/7", 3.5), ("demo/conv1/0", -3.5), ("demo/conv1/6", 2.5)]
    outputs = demo_catalog.top_outputs("demo/conv1/7", k=10)
    assert [e.dst for e in outputs] == ["demo/conv2/0", "demo/conv2/1", "demo/conv2/2", "demo/conv2/3", "demo/conv2/4"]
    assert demo_catalog.top_inputs("demo/conv2/0", k=3, kind="expanded") == []
    with pytest.raises(InvalidInput, match="unknown edge kind"):
        demo_catalog.top_inputs("demo/conv2/0", kind="telepathy")
    with pytest.raises(InvalidInput, match="already stored"):
        demo_catalog.add_edges(edges[:1])


def test_directions_are_features(demo_catalog: Catalog):
    vector = np.linspace(-1, 1, 16)
    feature = demo_catalog.add_direction("demo/conv2", "curvy", vector)
    assert feature.address == "demo/conv2/dir:curvy" and feature.kind == "direction"
    demo_catalog.set_label("demo/conv2/dir:curvy", "mix of curve units")
    assert demo_catalog.feature("demo/conv2/dir:curvy").label.text == "mix of curve units"
    with pytest.raises(InvalidInput, match="16 finite numbers"):
        demo_catalog.add_direction("demo/conv2", "short", [1.0, 2.0])
    with pytest.raises(InvalidInput, match="already has a direction"):
        demo_catalog.add_direction("demo/conv2", "curvy", vector)


def test_artifacts_are_idempotent_by_parameters(demo_catalog: Catalog):
    sha = demo_catalog.blobs.put_png(np.full((8, 8, 3), 200, dtype=np.uint8))
    params = {"steps": 256, "lr": 0.05, "size": 64}
    assert demo_catalog.add_artifact("demo/conv2/3", "vis.channel", params, {"image": sha})
    # Same parameters in another key order: recognised, nothing written twice.
    assert not demo_catalog.add_artifact("demo/conv2/3", "vis.channel", dict(reversed(params.items())), {"image": sha})
    assert demo_catalog.add_artifact("demo/conv2/3", "vis.channel", params, {"image": sha}, replace=True)
    assert demo_catalog.add_artifact("demo/conv2/3", "vis.channel", {**params, "steps": 512}, {"image": sha})
    stored = demo_catalog.artifacts("demo/conv2/3", "vis.channel")
    assert [a.params["steps"] for a in stored] == [256, 512]
    assert stored[0].blobs == {"image": sha}


def test_put_many_skips_or_replaces_what_exists_and_writes_the_rest(demo_catalog: Catalog):
    old, new = {"image": "a" * 64}, {"image": "b" * 64}
    demo_catalog.add_artifact("demo/conv2/1", "vis.channel", {"steps": 4}, old)
    with demo_catalog._writing() as session:
        ids = unit_ids(session, "demo/conv2")
        batch = [NewArtifact(int(ids[unit]), "vis.channel", {"steps": 4}, new) for unit in (0, 1, 2)]
        assert artifacts.put_many(session, batch, job_id=None) == 2  # unit 1 exists: skipped
    assert [a.blobs for a in demo_catalog.artifacts("demo/conv2/1")] == [old]
    assert [a.blobs for a in demo_catalog.artifacts("demo/conv2/2")] == [new]
    with demo_catalog._writing() as session:
        assert artifacts.put_many(session, batch, replace=True) == 3
        assert artifacts.put_many(session, []) == 0
        with pytest.raises(InvalidInput, match="artifact kind"):
            artifacts.put_many(session, [NewArtifact(int(ids[0]), "", {}, new)])
    assert [a.blobs for a in demo_catalog.artifacts("demo/conv2/1")] == [new]


def test_layer_pages_filter_and_count(demo_catalog: Catalog):
    demo_catalog.set_label("demo/conv3/2", "curve", author="carl")
    demo_catalog.set_label("demo/conv3/5", "circle", author="carl")
    demo_catalog.review_label("demo/conv3/5", "accepted", author="rita")
    demo_catalog.create_family("round")
    demo_catalog.add_family_member("round", "demo/conv3/5")
    sha = demo_catalog.blobs.put_png(np.zeros((4, 4, 3), dtype=np.uint8))
    demo_catalog.add_artifact("demo/conv3/2", "vis.channel", {}, {"image": sha})
    page = demo_catalog.layer_page("demo/conv3", offset=0, limit=4)
    assert page.total == 32 and [c.channel for c in page.cards] == [0, 1, 2, 3]
    assert page.cards[2].label.text == "curve" and page.cards[2].thumbnail == sha
    assert demo_catalog.layer_page("demo/conv3", offset=30, limit=4).cards[-1].channel == 31
    assert demo_catalog.layer_page("demo/conv3", labelled="labelled").total == 2
    assert demo_catalog.layer_page("demo/conv3", labelled="unlabelled").total == 30
    accepted = demo_catalog.layer_page("demo/conv3", status="accepted")
    assert [c.address for c in accepted.cards] == ["demo/conv3/5"] and accepted.cards[0].label.author == "rita"
    assert [c.address for c in demo_catalog.layer_page("demo/conv3", family="round").cards] == ["demo/conv3/5"]
    assert [l.address for l in demo_catalog.review_queue().items] == ["demo/conv3/2"]
    stats = demo_catalog.stats()
    assert (stats["units"], stats["labelled"], stats["accepted"], stats["families"]) == (56, 2, 1, 1)
