"""`atlas compare` end to end on the demo models (SQLite and PostgreSQL): jobs run, the top
matches, the redundancy and the CKA table printed, relations and the heatmap stored;
hostile arguments refused with one line, nothing queued or stored."""

import pytest
from PIL import Image

from atlas import Catalog
from atlas.cli import main
from atlas.compute.demo_atlas import register_demo_models
from atlas.errors import InvalidInput


@pytest.fixture
def demos(catalog: Catalog) -> Catalog:
    register_demo_models(catalog)
    return catalog


@pytest.fixture
def cli(db_url, blob_dir):
    def run(*args: str, user: str = "alice") -> int:
        return main(["--db", db_url, "--blobs", blob_dir, "--user", user, *args])
    return run


def test_compare_matches_demo_layers_and_prints_the_cka_table(demos: Catalog, cli, capsys, tmp_path):
    plot = tmp_path / "cka.png"
    assert cli("compare", "demo/conv4", "demo-b/conv4", "--dataset", "synthetic:150", "--chunk-images", "100",
               "--sweeps", "orientation", "--steps", "8", "--top", "3", "--plot", str(plot)) == 0
    out = capsys.readouterr().out
    assert "4 compare jobs for demo/conv4 ~ demo-b/conv4" in out
    assert "one-to-one matches (Hungarian on pooled correlation)" in out and "redundancy:" in out
    assert "linear CKA of pooled pre-activations, demo (rows) ~ demo-b (columns)" in out
    pairs = demos.relations("demo/conv4", "demo-b/conv4", method="pooled.assignment")
    assert len(pairs) == 64 and len({r.dst for r in pairs}) == 64  # one to one
    assert len(demos.relations("demo/conv4", "demo-b/conv4", method="spatial.assignment")) == 64  # both 8x8
    assert len(demos.relations("demo-b/conv4", "demo/conv4", method="pooled.best")) == 64
    assert f"  {pairs[0].src:<28} {pairs[0].dst:<28} {pairs[0].score:.3f}" in out
    table = demos.layer_similarity("demo", "demo-b")
    assert len(table) == 36 and all(0.0 <= r.score <= 1.0 + 1e-9 for r in table)
    assert Image.open(plot).size[0] > 100
    assert pairs[0].stimuli["sweeps"][0]["sweep"] == "orientation"


@pytest.mark.parametrize("args, message", [
    (("demo/nope", "demo-b/conv4"), "layer"),
    (("demo/conv4/3", "demo-b/conv4"), "address"),
    (("demo/conv4", "demo/conv4"), "itself"),
    (("demo/conv4", "demo-b/conv4", "--dataset", "synthetic:2000000"), "1,000,000"),
    (("demo/conv4", "demo-b/conv4", "--dataset", "folder:/no/such/folder"), "does not exist"),
    (("demo/conv4", "demo-b/conv4", "--sweeps", "nosuchsweep"), "nosuchsweep"),
])
def test_hostile_arguments_are_one_line_and_queue_nothing(demos: Catalog, cli, capsys, args, message):
    assert cli("compare", *args, "--no-wait") == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("atlas: error: ") and "\n" not in err and message in err, err
    assert demos.jobs() == []


def test_a_viewer_may_not_compare(demos: Catalog, cli, capsys):
    assert cli("compare", "demo/conv4", "demo-b/conv4", "--no-wait", user="vic") == 1
    assert capsys.readouterr().err.startswith("atlas: error: ")
    assert demos.jobs() == [] and demos.relations("demo/conv4", "demo-b/conv4") == []


def test_families_show_prints_a_published_link_with_its_source_and_no_score(demo_catalog: Catalog, cli, capsys):
    from atlas.catalog.records import NewFamily

    stimuli = {"dataset": {"kind": "synthetic", "n": 100, "seed": 0, "size": 64}, "sweeps": []}
    demo_catalog.add_analogous_families(NewFamily("early", "", ["demo/conv1/1"]),
                                        NewFamily("late", "", ["demo/conv2/3"]), stimuli, 0.75)
    assert demo_catalog.add_family_link("early", "late", "inputs_of", "https://example.org/fig-1", note="feeds")
    assert not demo_catalog.add_family_link("early", "late", "inputs_of", "https://example.org/fig-1")  # once
    assert cli("families", "show", "late") == 0
    assert capsys.readouterr().out.splitlines() == [
        "late  (demo/conv2, 1 members)", "  demo/conv2/3",
        "  <- analogous early  0.750 families.propose",
        "  <- inputs_of early  published, not measured: https://example.org/fig-1"]
    assert cli("families", "show", "nope") == 1
    assert capsys.readouterr().err == "atlas: error: unknown family 'nope'\n"
    with pytest.raises(InvalidInput, match="a link must be an http or https URL"):
        demo_catalog.add_family_link("early", "late", "analogous", "javascript:alert(1)")
    with pytest.raises(InvalidInput, match="a similar relation joins layers, not families$"):
        demo_catalog.add_family_link("early", "late", "similar", "https://example.org")
