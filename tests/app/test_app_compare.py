"""The compare page and the family page, driven by Streamlit's AppTest on the seeded app
catalogue with a second demo model and relations stored through the Catalog, as `atlas
compare` stores them: the matches of a layer pair best first, each row the two units it
pairs, the redundancy, the CKA table; the choice in the URL; queueing a comparison
(curators only, hostile input refused in one line); a family's members, its analogous
families and its members' analogous units."""

from __future__ import annotations

from urllib.parse import parse_qs

import numpy as np
import pandas as pd
import pytest
from app_seed import RICH, add_visualizations
from conftest import DEMO_LAYERS
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Block
from test_app import APP, app, cat, links, open_page, rerun, sqlite_only, texts  # noqa: F401 (fixtures)

from atlas import Catalog
from atlas.catalog.records import NewFamily
from atlas.vocabulary import COMPARE_KINDS

STIMULI = {"dataset": {"kind": "synthetic", "n": 2000, "seed": 0, "size": 64}, "sweeps": []}
PAIR = {"a": "demo", "a_layer": "conv2", "b": "demo-b", "b_layer": "conv2"}
ASSIGNMENT = [(7, 7, 0.77), (3, 5, 0.91), (1, 0, -0.1), (0, 2, 0.42)]  # stored in no particular order
BEST = [(3, 5, 0.91), (4, 5, 0.8), (6, 5, 0.6), (0, 2, 0.42)]  # demo-b/conv2/5: best partner of three
CKA = {("conv1", "conv1"): 0.9, ("conv1", "conv2"): 0.4, ("conv2", "conv2"): 0.8, ("conv3", "conv3"): 0.7}


def two_models(cat: Catalog) -> Catalog:
    cat.add_model("demo-b", "demo_cnn", layers=DEMO_LAYERS, input_spec={"size": [64, 64]})
    add_visualizations(cat, "demo-b/conv2", 16)
    return cat


@pytest.fixture
def compared(cat: Catalog) -> Catalog:
    """demo/conv2 matched with demo-b/conv2, and the CKA of some layer pairs."""
    two_models(cat)
    cat.add_relations("analogous", "pooled.assignment", STIMULI, "demo/conv2", "demo-b/conv2", ASSIGNMENT)
    cat.add_relations("analogous", "pooled.best", STIMULI, "demo/conv2", "demo-b/conv2", BEST)
    heatmap = cat.blobs.put_png(np.zeros((8, 8, 3), dtype=np.uint8))
    for (a, b), score in CKA.items():
        cat.add_relations("similar", "cka.linear", STIMULI, f"demo/{a}", f"demo-b/{b}", [(None, None, score)],
                          {"heatmap": heatmap})
    return cat


def match_rows(at: AppTest) -> list[tuple[str, str, str]]:
    """(unit of A, unit of B, score) of each match row, in page order: a row is a bordered
    container holding two unit links and the score between them."""
    rows = []
    for block in at.main.children.values():
        if not isinstance(block, Block):
            continue
        linked = [parse_qs(e.proto.query_string)["address"][0] for e in block.get("page_link")]
        scores = [m.value for m in block.get("markdown") if m.value.startswith("**")]
        if len(linked) == 2 and len(scores) == 1:
            rows.append((linked[0], linked[1], scores[0].strip("*")))
    return rows


def unescaped(caption: str) -> str:
    """A caption without the Markdown escapes of ``components.text.plain``."""
    return caption.replace("\\", "")


def row_of(at: AppTest, src: str) -> Block:
    return next(block for block in at.main.children.values() if isinstance(block, Block)
                and [parse_qs(e.proto.query_string)["address"][0] for e in block.get("page_link")][:1] == [src])


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_compare_page_lists_the_matches_best_first_with_the_redundancy_and_cka(app: AppTest, compared: Catalog):
    open_page(app, "compare", user="vic", **PAIR)
    assert match_rows(app) == [
        ("demo/conv2/3", "demo-b/conv2/5", "0.910"), ("demo/conv2/7", "demo-b/conv2/7", "0.770"),
        ("demo/conv2/0", "demo-b/conv2/2", "0.420"), ("demo/conv2/1", "demo-b/conv2/0", "-0.100")]
    rich = row_of(app, RICH)
    # Thumbnails on both sides, and RICH's stored top dataset examples (three crops, one element).
    assert [len(image.proto.imgs) for image in rich.get("image")] == [1, 3, 1]
    assert [c.value for c in rich.get("caption")][:2] == ["curve detector · proposed",
                                                         "⚠ best partner demo\\-b/conv2/5 is shared"]
    assert "⚠" not in " ".join(c.value for c in row_of(app, "demo/conv2/7").get("caption"))
    # The redundancy the one-to-one matching hides: demo-b/conv2/5 is the best partner of three.
    assert app.warning[0].value.startswith("1 unit of demo-b/conv2 is the best partner (≥ 0.5) of several units")
    assert "best partner of 3: `demo/conv2/3`, `demo/conv2/4`, `demo/conv2/6`" in texts(app)
    [table] = app.dataframe
    grid: pd.DataFrame = table.value
    assert list(grid.index) == ["conv1", "conv2", "conv3"] and list(grid.columns) == ["conv1", "conv2", "conv3"]
    assert {(a, b): grid.loc[a, b] for a, b in CKA} == CKA and pd.isna(grid.loc["conv2", "conv1"])
    captions = [img.caption for image in app.get("image") for img in image.proto.imgs]
    assert "linear CKA, demo (rows) ~ demo-b (columns)" in captions, "the stored heatmap"
    assert not [b for b in app.get("button")], "a viewer is offered no queue button"
    app.selectbox(key="compare-method").set_value("pooled.best").run()
    assert [row[:2] for row in match_rows(app)] == [(f"demo/conv2/{src}", f"demo-b/conv2/{dst}")
                                                    for src, dst, _ in BEST]
    assert app.query_params["method"] == "pooled.best"


@sqlite_only
def test_a_shared_compare_url_opens_the_same_matches(app: AppTest, compared: Catalog):
    open_page(app, "compare")
    app.selectbox(key="compare-b").set_value("demo-b").run()
    app.selectbox(key="compare-a-layer").set_value("conv2").run()
    app.selectbox(key="compare-b-layer").set_value("conv2").run()
    shown = match_rows(app)
    shared = {k: app.query_params[k] for k in ("a", "a_layer", "b", "b_layer", "method")}
    assert shared == {**PAIR, "method": "pooled.assignment"} and len(shown) == 4
    other = AppTest.from_file(APP, default_timeout=30)  # another browser, given the link
    open_page(other, "compare", **shared)
    assert match_rows(other) == shown
    hostile = AppTest.from_file(APP, default_timeout=30)  # values the page does not offer are ignored
    open_page(hostile, "compare", a="<script>", a_layer="../x", method="rm -rf")
    assert hostile.selectbox(key="compare-method").value == "pooled.assignment"
    assert hostile.selectbox(key="compare-a").value == "demo"


@sqlite_only
def test_an_unmeasured_pair_says_how_to_measure_it_and_a_viewer_cannot_queue(app: AppTest, compared: Catalog):
    open_page(app, "compare", user="vic", a="demo", a_layer="conv3", b="demo-b", b_layer="conv3")
    assert "`atlas compare demo/conv3 demo-b/conv3 --dataset synthetic:2000`" in app.info[0].value
    assert "vic is a viewer: curators queue comparisons." in texts(app, "caption")
    assert not app.get("button") and not match_rows(app)
    # The pair stored the other way round is offered with its link.
    swapped = AppTest.from_file(APP, default_timeout=30)
    open_page(swapped, "compare", user="vic", a="demo-b", a_layer="conv2", b="demo", b_layer="conv2")
    assert swapped.info[0].value == "demo/conv2 ~ demo\\-b/conv2 is stored the other way round."
    swapped.button(key="compare-swap").click().run()
    assert match_rows(swapped)[0] == (RICH, "demo-b/conv2/5", "0.910")
    assert (swapped.query_params["a"], swapped.query_params["b"]) == ("demo", "demo-b")


def test_a_curator_queues_a_comparison_and_hostile_input_is_one_line(app: AppTest, cat: Catalog):
    two_models(cat)
    open_page(app, "compare", a="demo", a_layer="conv3", b="demo-b", b_layer="conv3")
    hostile = (("imagenet:all", "", "invalid dataset 'imagenet:all'"), ("synthetic:1\x00", "", "synthetic:N"),
               ("synthetic:10", "no_such_sweep", "no_such_sweep"), ("", "", "a dataset, sweeps or both"),
               ("folder:/no/such\nfolder", "", "does not exist"))
    for dataset, sweeps, why in hostile:
        app.text_input(key="compare-dataset").set_value(dataset)
        app.text_input(key="compare-sweeps").set_value(sweeps)
        app.button(key="FormSubmitter:compare-queue-Queue comparison").click().run()
        assert not app.exception and len(app.error) == 1, (dataset, app.exception)
        assert why in app.error[0].value and "\n" not in app.error[0].value, app.error[0].value
    assert cat.jobs() == []
    app.text_input(key="compare-dataset").set_value("synthetic:64")
    app.text_input(key="compare-sweeps").set_value("")
    rerun(app.button(key="FormSubmitter:compare-queue-Queue comparison").click().run())
    jobs = sorted(cat.jobs(), key=lambda job: job.id)
    assert [(job.kind, job.status) for job in jobs] == [(COMPARE_KINDS[0], "queued"), (COMPARE_KINDS[1], "waiting")]
    size = cat.model("demo").input_size  # model A's
    assert jobs[-1].params["stimuli"]["dataset"] == {"kind": "synthetic", "n": 64, "seed": 0, "size": size}
    assert app.success[0].value.startswith(f"Queued 1 comparison job and a matching job (#{jobs[-1].id})")
    entry = cat.audit_log(limit=1)[0]
    assert (entry.user, entry.action, entry.entity_id) == ("carl", "jobs.enqueue", "demo/conv3")


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_family_page_shows_members_analogous_families_and_units(app: AppTest, compared: Catalog):
    cat = compared
    # What `atlas families propose --save` stores: two families and their analogous relation.
    cat.add_analogous_families(NewFamily("curves-a", "", (RICH, "demo/conv2/7")),
                               NewFamily("curves-b", "", ("demo-b/conv2/5",)), STIMULI, 0.88)
    cat.add_family_member("curves-a", "demo/conv2/9", "the mirrored one", author="carl")
    # What a seed's links store: published, with the source and no score.
    cat.add_family_link("curves-b", "curves-a", "inputs_of", "https://example.org/fig-3", note="b feeds a")
    open_page(app, "family", user="vic", name="curves-a")
    assert app.header[0].value == "curves-a" and "units of demo/conv2" in texts(app, "caption")
    blocks = [b for b in app.main.children.values() if isinstance(b, Block)]
    members = [(link.proto.label, [c.value for c in card.get("caption")])
               for block in blocks for card in block.children.values()
               if isinstance(card, Block) and card.get("image") for link in card.get("page_link")]
    assert members == [(RICH, ["curve detector · proposed"]), ("demo/conv2/7", ["unlabelled"]),
                       ("demo/conv2/9", ["unlabelled", "the mirrored one"])]
    related = [(link.proto.label, unescaped(block.get("caption")[0].value)) for block in blocks
               for link in block.get("page_link") if "name=" in link.proto.query_string]
    assert related == [("curves-b", "→ analogous · 0.880 · families.propose · synthetic:2000"),
                       ("curves-b", "← inputs of · published, not measured · b feeds a")]
    assert [(b.proto.label, b.proto.url) for b in app.get("link_button")] == [
        ("source: https://example.org/fig-3", "https://example.org/fig-3")]
    analogues = {}
    for block in blocks:
        found = [link.proto.label for link in block.get("page_link")]
        if found and found[0].startswith("demo/conv2/") and not block.get("image"):
            analogues[found[0]] = list(zip(found[1:], [unescaped(c.value) for c in block.get("caption")]))
    assert analogues == {RICH: [("demo-b/conv2/5", "0.910 · pooled.assignment · synthetic:2000"),
                                ("demo-b/conv2/5", "0.910 · pooled.best · synthetic:2000")],
                         "demo/conv2/7": [("demo-b/conv2/7", "0.770 · pooled.assignment · synthetic:2000")],
                         "demo/conv2/9": []}
    assert app.dataframe[0].value.to_dict("records") == [
        {"member": RICH, "evidence": 2}, {"member": "demo/conv2/7", "evidence": 0},
        {"member": "demo/conv2/9", "evidence": 0}]
    open_page(app, "family", user="vic", name="curves-b")  # the other end links back
    assert app.header[0].value == "curves-b" and "curves-a" in links(app)


@sqlite_only
def test_family_pages_are_linked_from_units_and_search(app: AppTest):
    open_page(app, "unit", address=RICH)
    [link] = [link for link in app.get("page_link") if link.proto.label == "curve detectors"]
    assert parse_qs(link.proto.query_string)["name"] == ["curve detectors"]
    open_page(app, "search", q="curves")
    [hit] = [link for link in app.get("page_link") if link.proto.label == "family curve detectors"]
    assert parse_qs(hit.proto.query_string)["name"] == ["curve detectors"]
    open_page(app, "family", name="<b>nope</b>")
    assert app.warning[0].value.startswith("No family named") and app.header[0].value == "curve detectors"


@sqlite_only
def test_a_pair_measured_over_two_stimulus_sets_shows_one_at_a_time(app: AppTest, compared: Catalog):
    sweeps = {"dataset": None, "sweeps": [{"sweep": "orientation", "steps": 8, "size": 64}]}
    compared.add_relations("analogous", "pooled.assignment", sweeps, "demo/conv2", "demo-b/conv2", [(9, 9, 0.99)])
    open_page(app, "compare", user="vic", **PAIR)
    choice = app.selectbox(key="compare-stimuli")
    assert choice.options == ["orientation sweep (8 steps)", "synthetic:2000"]  # by name
    choice.set_value("synthetic:2000").run()
    assert len(match_rows(app)) == 4
    app.selectbox(key="compare-stimuli").set_value("orientation sweep (8 steps)").run()
    assert match_rows(app) == [("demo/conv2/9", "demo-b/conv2/9", "0.990")]
    assert app.query_params["stimuli"] == "orientation sweep (8 steps)"
    assert "No CKA stored for demo ~ demo-b over these stimuli." in texts(app, "caption")
