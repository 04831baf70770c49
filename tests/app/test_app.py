"""The curation app, driven by Streamlit's AppTest on a seeded catalogue.

Pages that only read run on SQLite; every write runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from urllib.parse import parse_qs

import numpy as np
import pytest
import streamlit as st
from app_seed import RICH, seed
from conftest import DEMO_LAYERS
from hostile_images import png_declaring
from PIL import Image
from signed_demo import SRC, store_shipped_edges
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Block

from atlas import Catalog, NewEdge
from atlas.catalog.records import UserInfo
from atlas.jobs import JobQueue
from atlas.vocabulary import DEMO_VIS_LR, DEMO_VIS_STEPS

APP = str(Path(__file__).resolve().parents[2] / "app" / "main.py")
sqlite_only = pytest.mark.parametrize("dialect", ["sqlite"])


@pytest.fixture
def cat(demo_catalog: Catalog) -> Catalog:
    return seed(demo_catalog)


@pytest.fixture
def app(cat: Catalog, db_url: str, blob_dir: str, monkeypatch):
    monkeypatch.setenv("ATLAS_DATABASE_URL", db_url)
    monkeypatch.setenv("ATLAS_BLOB_URL", blob_dir)
    monkeypatch.setenv("ATLAS_USER", "alice")  # the catalogue's own user: never the app's default
    monkeypatch.delenv("ATLAS_AUTH", raising=False)
    st.cache_resource.clear()
    deprecations = _Recorder()
    streamlit_log = logging.getLogger("streamlit.deprecation_util")
    streamlit_log.addHandler(deprecations)
    try:
        yield AppTest.from_file(APP, default_timeout=30)
    finally:
        streamlit_log.removeHandler(deprecations)
        st.cache_resource.clear()
    # Streamlit logs a deprecated call on every rerun (every two seconds on a watched page).
    assert not deprecations.messages, deprecations.messages


class _Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def open_page(at: AppTest, page: str, user: str | None = "carl", **query: str) -> AppTest:
    """``page`` as ``user`` picked in the URL (``?as=``, as a shared link), or as nobody."""
    for name, value in query.items():
        at.query_params[name] = value
    if user is not None:
        at.query_params["as"] = user
    at.switch_page(f"views/{page}.py").run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest, kind: str = "markdown") -> str:
    return "\n".join(str(element.value) for element in at.get(kind))


def links(at: AppTest) -> list[str]:
    return [link.proto.label for link in at.get("page_link")]


def sections(block) -> dict[str, list]:
    """The elements under each bold header (``**Top inputs**``) among ``block``'s children,
    in page order: a section is found by its header, not by strings anywhere on the page."""
    found: dict[str, list] = {}
    current = None
    for child in block.children.values():
        if child.type == "markdown" and child.value.startswith("**"):
            current = found.setdefault(child.value.strip("*"), [])
        elif current is not None:
            current.extend(child)  # the child and everything inside it
    return found


def cards(elements: list) -> list[tuple[str, str]]:
    """(the unit a card links to, its caption) for each connection card, in order."""
    linked = [parse_qs(e.proto.query_string)["address"][0] for e in elements if e.type == "page_link"]
    return list(zip(linked, [e.value for e in elements if e.type == "caption"], strict=True))


def rerun(at: AppTest) -> AppTest:
    """The rerun a write asks for (st.rerun) is run by AppTest on its own; this checks it."""
    assert not at.exception, at.exception
    return at


# -- reading --------------------------------------------------------------------------


@sqlite_only
def test_home_shows_figures_activity_and_searches(app: AppTest):
    open_page(app, "home")
    figures = {m.label: m.value for m in app.metric}
    assert figures == {"models": "1", "units": "56", "labelled": "4", "accepted": "1",
                       "circuits": "1", "evidence": "2"}
    assert "label.set" in texts(app)
    layer_links = [parse_qs(link.proto.query_string) for link in app.get("page_link")
                   if link.proto.label in ("conv1", "conv2", "conv3")]
    assert [(q["model"], q["layer"]) for q in layer_links] == [(["demo"], ["conv1"]), (["demo"], ["conv2"]),
                                                              (["demo"], ["conv3"])]
    (table,) = app.dataframe
    assert table.value[["layer", "units", "proposed", "accepted", "disputed"]].values.tolist() == [
        ["conv1", 8, 0, 0, 0], ["conv2", 16, 1, 0, 1], ["conv3", 32, 1, 1, 0]]
    assert "demo/conv3/2" in links(app)  # an activity row links to the unit it changed
    app.text_input(key="home-query").set_value("curve")
    app.button(key="FormSubmitter:home-search-Search").click().run()
    assert app.title[0].value == "Search" and RICH in links(app)


@sqlite_only
def test_layer_browser_filters_and_pages(app: AppTest):
    open_page(app, "layer")
    app.selectbox(key="layer-name").set_value("conv2").run()
    assert len(app.get("image")) == 16 and "3" in links(app)
    assert "curve detector · proposed" in texts(app, "caption")
    app.selectbox(key="layer-labelled").set_value("labelled").run()
    assert links(app)[-2:] == ["3", "5"]
    app.selectbox(key="layer-status").set_value("disputed").run()
    assert links(app)[-1:] == ["5"] and "1 of 16 units" in texts(app, "caption")
    app.selectbox(key="layer-status").set_value("any")
    app.selectbox(key="layer-labelled").set_value("all")
    app.selectbox(key="layer-family").set_value("curve detectors").run()
    assert "1 of 16 units" in texts(app, "caption")
    app.selectbox(key="layer-family").set_value("any")
    app.selectbox(key="layer-name").set_value("conv3").run()
    assert "32 of 32 units in demo/conv3 match; showing 32" in texts(app, "caption")
    app.selectbox(key="layer-size").set_value(32).run()
    assert app.number_input(key="layer-page").label == "Page (of 1)"


@sqlite_only
def test_unit_page_steps_through_its_layer_and_links_back_to_the_grid(app: AppTest):
    open_page(app, "unit", address="demo/conv2/14")
    crumb = next(link for link in app.get("page_link") if link.proto.label == "demo › conv2 › 14")
    assert parse_qs(crumb.proto.query_string) == {"model": ["demo"], "layer": ["conv2"], "as": ["carl"]}
    shortcuts = {b.key: b.proto.shortcut for b in app.button if b.key and b.key.startswith("unit-")}
    assert shortcuts == {"unit-previous-arrow": "left", "unit-next-arrow": "right", "unit-previous-letter": "k",
                         "unit-next-letter": "j"}
    app.button(key="unit-next-letter").click().run()
    assert app.title[0].value == "demo/conv2/15" and app.query_params["address"] == "demo/conv2/15"
    assert app.button(key="unit-next-arrow").disabled  # the layer's last unit
    app.button(key="unit-previous-arrow").click().run()
    app.button(key="unit-previous-arrow").click().run()
    assert app.title[0].value == "demo/conv2/13" and not app.button(key="unit-previous-letter").disabled


@sqlite_only
def test_a_shared_layer_url_opens_the_same_grid(app: AppTest):
    open_page(app, "layer")
    app.selectbox(key="layer-name").set_value("conv3").run()
    app.selectbox(key="layer-size").set_value(32).run()
    app.selectbox(key="layer-labelled").set_value("unlabelled").run()
    app.number_input(key="layer-page").set_value(1).run()
    grid = links(app)
    shared = {k: app.query_params[k] for k in ("model", "layer", "labels", "size")}
    assert shared == {"model": "demo", "layer": "conv3", "labels": "unlabelled", "size": "32"}
    other = AppTest.from_file(APP, default_timeout=30)  # another browser, given the link
    open_page(other, "layer", **shared)
    assert links(other) == grid and "demo/conv3" in texts(other, "caption")
    assert other.selectbox(key="layer-labelled").value == "unlabelled"


@sqlite_only
def test_unit_page_shows_everything_known(app: AppTest):
    open_page(app, "unit", address=RICH)
    assert app.title[0].value == RICH and app.subheader[0].value == "curve detector"
    captions = texts(app, "caption")
    assert "families:" in captions and "curve detectors" in links(app)
    # channel, negative, diversity, top and bottom examples; the other ends of 7 edges and 4 kernels
    assert len(app.get("image")) == 5 + 7 + 4
    # Each example crop has its pre-activation under it: the top three, the one bottom crop.
    [tab] = [tab for tab in app.tabs if tab.label == "Dataset examples"]
    shown = [img.caption for image in tab.get("image") for img in image.proto.imgs]
    assert shown == ["+5.25 · image 11", "+4.5 · image 12", "+3.75 · image 13", "-2.5 · image 40"]
    assert "bottom 1: the images that inhibit it most" in texts(tab, "caption")
    assert "-4 · unlabelled" in captions and "+2.5 · circle" in captions
    assert app.get("vega_lite_chart"), "the tuning curve is plotted"
    note = next(m for m in app.markdown if "<script>" in m.value)
    assert note.allow_html is False, "notes never render raw HTML"
    assert any(b.proto.url.startswith("https://distill.pub") for b in app.get("link_button"))
    assert "in circuit curves" in links(app)


@sqlite_only
def test_unit_page_connections_list_inputs_and_outputs_in_their_own_sections(app: AppTest, cat: Catalog):
    # Expanded edges stronger than every direct one: the sections show direct weights only.
    cat.add_edges([NewEdge("demo/conv1/7", RICH, "expanded", 9.0), NewEdge(RICH, "demo/conv3/9", "expanded", -9.0)])
    open_page(app, "unit", address=RICH)
    [tab] = [tab for tab in app.tabs if tab.label == "Connections"]
    found = sections(tab)
    assert list(found) == ["Top inputs", "Top outputs"]
    # Inputs: the conv1 sources of RICH's direct edges, strongest first, each with its kernel.
    assert cards(found["Top inputs"]) == [
        ("demo/conv1/3", "-4 · unlabelled"), ("demo/conv1/2", "+3 · unlabelled"),
        ("demo/conv1/1", "-2 · unlabelled"), ("demo/conv1/0", "+1 · unlabelled")]
    assert len([e for e in found["Top inputs"] if e.type == "image"]) == 4 * 2  # thumbnail and kernel
    # Outputs: the conv3 destinations; these edges were stored without kernels.
    assert cards(found["Top outputs"]) == [
        ("demo/conv3/2", "+2.5 · circle"), ("demo/conv3/1", "+1.5 · dog head"), ("demo/conv3/0", "+0.5 · unlabelled")]
    assert len([e for e in found["Top outputs"] if e.type == "image"]) == 3


@sqlite_only
def test_unit_page_shows_expanded_weights_where_a_unit_has_no_direct_ones(app: AppTest, cat: Catalog):
    unit = next(f"demo/conv3/{i}" for i in range(32) if not cat.top_inputs(f"demo/conv3/{i}", 1))
    cat.add_edges([NewEdge("demo/conv2/1", unit, "expanded", -2.0)])
    open_page(app, "unit", address=unit)
    [tab] = [tab for tab in app.tabs if tab.label == "Connections"]
    found = sections(tab)
    assert cards(found["Top inputs"]) == [("demo/conv2/1", "-2 · unlabelled")]
    assert [e.value for e in app.info] == [
        "no direct weights stored; showing expanded weights"]


@sqlite_only
def test_unit_page_for_a_viewer_has_no_forms(app: AppTest):
    open_page(app, "unit", user="vic", address=RICH)
    assert "vic is a viewer: curators propose labels." in texts(app, "caption")
    assert "vic is a viewer: curators add evidence." in texts(app, "caption")
    assert {b.key for b in app.button} == {"unit-previous-arrow", "unit-next-arrow", "unit-previous-letter",
                                           "unit-next-letter"}  # reading moves only: nothing that writes
    assert not app.text_area


@sqlite_only
def test_unit_page_bad_address_is_an_error_not_a_crash(app: AppTest):
    open_page(app, "unit", address="demo/../x")
    assert "invalid layer name" in app.error[0].value


@sqlite_only
def test_search_with_filters(app: AppTest):
    open_page(app, "search", q="curve")
    assert RICH in links(app) and "circuit curves" in links(app)
    assert "**curve**" in texts(app).lower()
    app.selectbox(key="search-status").set_value("disputed").run()
    assert app.info[0].value == "No matches. Some filters are set: widen them under Filters."
    assert app.query_params["status"] == "disputed"
    app.text_input[0].set_value("frequency").run()
    assert links(app)[-1] == "demo/conv2/5"


@sqlite_only
def test_search_pages_shows_thumbnails_suggests_and_explains(app: AppTest, cat: Catalog):
    for unit in range(32):
        cat.set_label(f"demo/conv3/{unit}", f"texture detector {unit}", author="carl")
    open_page(app, "search")
    assert "Search the catalogue's **labels**" in texts(app) and "no operators" in texts(app, "caption")
    app.text_input[0].set_value("texture").run()
    assert "32 results; showing 1–25" in texts(app, "caption")
    assert len(links(app)) == 25 and len(app.get("image")) == 25  # a thumbnail per unit hit
    app.number_input(key="search-page").set_value(2).run()
    assert "showing 26–32" in texts(app, "caption") and app.query_params["page"] == "2"
    app.text_input[0].set_value("textur detectr").run()
    assert "Did you mean **texture detector**?" in texts(app)
    app.button(key="search-suggestion").click().run()
    assert app.query_params["q"] == "texture detector" and "32 results" in texts(app, "caption")


@sqlite_only
def test_circuit_page_draws_lists_and_exports(app: AppTest):
    open_page(app, "circuit", name="curves")
    assert app.header[0].value == "curves"
    assert any(type(e).__name__ == "UnknownElement" for e in app.main), "the st-cytoscape graph"
    assert {"demo/conv1/0", RICH} <= set(links(app))
    assert "`demo/conv1/0` → `demo/conv2/3` — line feeds curve" in texts(app)
    assert [b.proto.label for b in app.get("download_button")] == ["JSON", "GRAPHML", "CYTOSCAPE", "DOT", "SVG", "PNG"]
    nodes_tab = next(tab for tab in app.tabs if tab.label.startswith("Nodes"))
    assert [link.proto.label for link in nodes_tab.get("page_link")] == ["demo/conv1/0", RICH]
    assert [c.value for c in nodes_tab.get("caption")][::2] == ["unlabelled", "curve detector · proposed"]
    assert len(nodes_tab.get("image")) == 2  # a thumbnail (or its placeholder) per node


@sqlite_only
def test_review_queue_lists_waiting_labels(app: AppTest):
    open_page(app, "review", user="rita")
    assert set(links(app)) >= {RICH, "demo/conv2/5", "demo/conv3/1"}
    assert "3 labels waiting" in texts(app, "caption")
    assert {b.proto.label for b in app.button} == {"Accept", "Reject", "Dispute"}


@sqlite_only
def test_jobs_page_for_a_viewer_only_watches(app: AppTest):
    open_page(app, "jobs", user="vic")
    assert [m.label for m in app.metric] == ["waiting", "queued", "running", "done", "failed", "cancelled"]
    assert "vic is a viewer" in texts(app, "caption")


@sqlite_only
def test_trusted_header_identity_needs_the_header(app: AppTest, monkeypatch):
    monkeypatch.setenv("ATLAS_AUTH", "header")
    open_page(app, "home")
    assert "the request has no X-Forwarded-User header" in app.error[0].value
    assert not app.metric


def test_trusted_header_names_a_user(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(APP).parent))
    from identity import can_review, can_write, user_from_headers

    users = [UserInfo("vic", "viewer"), UserInfo("rita", "reviewer")]
    rita = user_from_headers({"X-Forwarded-User": "rita"}, users)
    assert rita == users[1] and can_write(rita) and can_review(rita)
    assert not can_write(users[0])


def test_trusted_header_sent_twice_or_joined_is_refused(monkeypatch):
    """A proxy that appends leaves the client's own header in front of its own (Streamlit's
    headers[...] returns the first), or joins both with a comma: neither may name anyone."""
    monkeypatch.syspath_prepend(str(Path(APP).parent))
    from identity import Refused, name_in_header
    from streamlit.runtime.context import StreamlitHeaders

    header = "X-Forwarded-User"
    assert name_in_header(StreamlitHeaders([("x-forwarded-user", " rita ")]), header) == "rita"
    for pairs in ([(header, "alice"), (header, "rita")], [(header, "alice"), ("x-forwarded-user", "rita")],
                  [(header, "alice, rita")], [(header, "alice,rita")]):
        with pytest.raises(Refused, match="carries the X-Forwarded-User header more than once"):
            name_in_header(StreamlitHeaders(pairs), header)
    for pairs in ([], [(header, "  ")]):
        with pytest.raises(Refused, match="the request has no X-Forwarded-User header"):
            name_in_header(StreamlitHeaders(pairs), header)


def test_oidc_email_names_a_user_only_when_verified(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(APP).parent))
    from identity import Refused, name_in_claims

    assert name_in_claims({"email": "cora@lab.example", "email_verified": True}, "email") == "cora@lab.example"
    for claims in ({"email": "cora@lab.example"}, {"email": "cora@lab.example", "email_verified": False}):
        with pytest.raises(Refused, match="not verified"):
            name_in_claims(claims, "email")
    assert name_in_claims({"sub": "248289761001", "email": "x@y.org"}, "sub") == "248289761001"
    with pytest.raises(Refused, match="no 'sub' claim"):
        name_in_claims({"email": "cora@lab.example", "email_verified": True}, "sub")


@sqlite_only
def test_oidc_login_by_verified_email(app: AppTest, cat: Catalog, monkeypatch):
    monkeypatch.setenv("ATLAS_AUTH", "oidc")
    cat.add_user("cora@lab.example", "reviewer")
    app.user = {"is_logged_in": True, "email": "cora@lab.example", "email_verified": True}
    open_page(app, "home")
    assert "**cora@lab.example** · reviewer" in texts(app, "caption") and app.metric
    app.user = {"is_logged_in": True, "email": "cora@lab.example", "email_verified": False}
    open_page(app, "home")
    assert "not verified" in app.error[0].value and not app.metric


@sqlite_only
def test_a_self_review_is_shown_in_history_and_queue(app: AppTest, cat: Catalog):
    cat.review_label(RICH, "disputed", author="carl")  # carl wrote this label's text
    open_page(app, "unit", address=RICH)
    assert "disputed (self-review) · version 2 by carl" in texts(app, "caption")
    history = [m.value for m in app.markdown if m.value.startswith("v")]
    assert history[0].startswith("v2 · **curve detector** · disputed (self-review) · carl")
    assert "(self-review)" not in history[1]
    open_page(app, "review", user="rita")
    assert "**curve detector** · disputed (self-review) · v2 by carl" in texts(app)


# -- writing (both dialects) ------------------------------------------------------------


def test_unit_page_proposes_a_label(app: AppTest, cat: Catalog):
    open_page(app, "unit", address=RICH)
    app.text_input(key=f"label-text:{RICH}").set_value("left curve detector")
    app.text_input(key=f"label-reason:{RICH}").set_value("fires on left curves")
    rerun(app.button(key="FormSubmitter:label-demo/conv2/3-Save label").click().run())
    label = cat.feature(RICH).label
    assert (label.text, label.author, label.version, label.reason) == (
        "left curve detector", "carl", 2, "fires on left curves")
    assert app.success[0].value == "Saved version 2."
    assert cat.audit_log(RICH, limit=1)[0].action == "label.set"


def test_concurrent_label_edit_is_a_conflict_that_can_be_reapplied(app: AppTest, cat: Catalog):
    open_page(app, "unit", address=RICH)
    cat.set_label(RICH, "curve detector (radial)", author="cora", expected_version=1)
    app.text_input(key=f"label-text:{RICH}").set_value("left curve detector")
    rerun(app.button(key="FormSubmitter:label-demo/conv2/3-Save label").click().run())
    assert "cora saved version 2 while you were editing" in app.error[0].value
    assert "curve detector \\(radial\\)" in app.error[0].value
    assert app.text_input(key=f"merge-{RICH}").value == "curve detector (radial) / left curve detector"
    rerun(app.button(key=f"reapply-{RICH}").click().run())
    history = [(h.version, h.text, h.author) for h in cat.label_history(RICH)]
    assert history == [(1, "curve detector", "carl"), (2, "curve detector (radial)", "cora"),
                       (3, "left curve detector", "carl")]
    assert [e.action for e in cat.audit_log(RICH, limit=3)] == ["label.set", "label.conflict", "label.set"]


def test_concurrent_label_edit_can_be_merged(app: AppTest, cat: Catalog):
    open_page(app, "unit", address=RICH)
    cat.set_label(RICH, "radial curve", author="cora", expected_version=1)
    app.text_input(key=f"label-text:{RICH}").set_value("left curve")
    app.button(key="FormSubmitter:label-demo/conv2/3-Save label").click().run()
    app.text_input(key=f"merge-{RICH}").set_value("radial left curve")
    rerun(app.button(key=f"save-merged-{RICH}").click().run())
    assert cat.feature(RICH).label.text == "radial left curve"


def png(size=(8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "red").save(buffer, format="PNG")
    return buffer.getvalue()


def test_evidence_note_link_and_image(app: AppTest, cat: Catalog):
    open_page(app, "unit", address=RICH)
    target = f"feature={RICH}"
    app.text_area(key=f"note-body-{target}").set_value("Also **left** curves")
    rerun(app.button(key=f"FormSubmitter:note-{target}-Add note").click().run())
    app.text_input(key=f"link-url-{target}").set_value("javascript:alert(1)")
    app.button(key=f"FormSubmitter:link-{target}-Add link").click().run()
    assert "http or https" in app.error[0].value
    uploader = app.file_uploader(key=f"image-file-{target}")
    assert uploader.proto.max_upload_size_mb == 10 and "at most 10 MB" in uploader.label  # not Streamlit's 200
    uploader.set_value(("bomb.png", b"not an image", "image/png"))
    app.button(key=f"FormSubmitter:image-{target}-Add image").click().run()
    assert "not a PNG or JPEG" in app.error[0].value
    app.file_uploader(key=f"image-file-{target}").set_value(("bomb.png", png_declaring(100_000, 100_000),
                                                             "image/png"))
    app.button(key=f"FormSubmitter:image-{target}-Add image").click().run()
    assert app.error[0].value.startswith("the image declares more than 89 megapixels; the limit is 40 megapixels")
    app.file_uploader(key=f"image-file-{target}").set_value(("curve.png", png(), "image/png"))
    app.text_input(key=f"image-caption-{target}").set_value("activation map")
    rerun(app.button(key=f"FormSubmitter:image-{target}-Add image").click().run())
    items = cat.evidence(feature=RICH)
    assert [(e.kind, e.author) for e in items[-2:]] == [("note", "carl"), ("image", "carl")]
    assert items[-1].body == "activation map" and cat.blobs.get_png(items[-1].blobs[0]).format == "PNG"
    assert "Also **left** curves" in texts(app)


def test_reviewer_accepts_and_curator_disputes(app: AppTest, cat: Catalog):
    open_page(app, "review", user="rita")
    app.text_input(key="review-reason-demo/conv3/1").set_value("clear dog heads in examples")
    rerun(app.button(key="review-Accept-demo/conv3/1").click().run())
    label = cat.feature("demo/conv3/1").label
    assert (label.status, label.author, label.reason) == ("accepted", "rita", "clear dog heads in examples")
    assert cat.audit_log("demo/conv3/1", limit=1)[0].actor == "rita"  # the app acts as rita, not for her
    open_page(app, "review", user="carl")
    assert {b.proto.label for b in app.button} == {"Dispute"}
    rerun(app.button(key=f"review-Dispute-{RICH}").click().run())
    assert cat.feature(RICH).label.status == "disputed"


def test_review_of_a_label_changed_meanwhile_is_a_conflict_shown_in_place(app: AppTest, cat: Catalog):
    open_page(app, "review", user="rita")
    cat.set_label(RICH, "something else", author="cora")
    app.button(key=f"review-Accept-{RICH}").click().run()
    assert "conflict" in app.error[0].value
    assert cat.feature(RICH).label.status == "proposed"
    # The newer version stands where the judged one was, between its link and its line.
    rich = next(block for block in app.main.children.values()
                if isinstance(block, Block) and any(link.proto.label == RICH for link in block.get("page_link")))
    assert [w.value for w in rich.get("warning")] == [
        'Changed while you were deciding: now v2 "something else" · proposed by cora. Decide again on this version.']
    rerun(app.button(key=f"review-Accept-{RICH}").click().run())  # on the version now shown
    assert cat.feature(RICH).label.status == "accepted"


def _crowd(cat: Catalog) -> None:
    """120 more proposals (a second model's 56 units by cora, the rest of demo by carl)."""
    cat.add_model("demo-b", "demo_cnn", layers=DEMO_LAYERS)
    for model, author in (("demo", "carl"), ("demo-b", "cora")):
        for layer in DEMO_LAYERS:
            for unit in range(layer["channels"]):
                address = f"{model}/{layer['name']}/{unit}"
                if cat.feature(address).label is None:
                    cat.set_label(address, f"{model} {layer['name']} unit {unit}", author=author)


@sqlite_only
def test_review_queue_pages_to_the_newest_label_and_keeps_its_filters_in_the_url(app: AppTest, cat: Catalog):
    _crowd(cat)
    newest = "demo-b/conv3/31"
    open_page(app, "review", user="rita")
    total = cat.review_queue(limit=1).total
    assert total > 100 and f"{total} labels waiting; showing 1–25" in texts(app, "caption")
    app.number_input(key="review-page").set_value(-(-total // 25)).run()  # the last page, oldest first
    assert newest in links(app) and app.query_params["page"] == str(-(-total // 25))
    rerun(app.button(key=f"review-Accept-{newest}").click().run())
    assert cat.feature(newest).label.status == "accepted"
    # Newest first, narrowed to cora's labels in demo-b's conv2: the URL says so.
    app.selectbox(key="review-order").set_value("newest first").run()
    app.selectbox(key="review-model").set_value("demo-b").run()
    app.selectbox(key="review-layer").set_value("conv2").run()
    app.selectbox(key="review-author").set_value("cora").run()
    assert links(app)[:2] == ["demo-b/conv2/15", "demo-b/conv2/14"]
    assert "16 labels waiting; showing 1–16" in texts(app, "caption")
    shared = {k: app.query_params[k] for k in ("order", "model", "layer", "author")}
    assert shared == {"order": "newest first", "model": "demo-b", "layer": "conv2", "author": "cora"}


@sqlite_only
def test_a_shared_review_url_opens_the_same_view_and_ignores_what_it_does_not_offer(app: AppTest, cat: Catalog):
    _crowd(cat)
    open_page(app, "review", user="rita", model="demo", layer="conv2", status="disputed", order="newest first")
    assert links(app) == ["demo/conv2/5"] and "1 label waiting" in texts(app, "caption")
    assert app.selectbox(key="review-layer").value == "conv2" and app.multiselect(key="review-statuses").value == [
        "disputed"]
    app2 = AppTest.from_file(APP, default_timeout=30)
    app2.query_params["page"] = "999"
    open_page(app2, "review", user="rita", model="<script>", age="forever")
    assert app2.selectbox(key="review-model").value == "any" and app2.selectbox(key="review-age").value == "any"
    assert app2.number_input(key="review-page").value == app2.number_input(key="review-page").proto.max


def test_circuit_editing(app: AppTest, cat: Catalog):
    open_page(app, "circuit", name="curves")
    app.text_input(key="new-circuit-name").set_value("dogs")
    rerun(app.button(key="FormSubmitter:new-circuit-Create circuit").click().run())
    assert app.header[0].value == "dogs"
    for address in ("demo/conv3/1", "demo/conv3/2"):
        app.text_input(key="circuit-add-address").set_value(address)
        rerun(app.button(key="FormSubmitter:add-node-Add node").click().run())
    app.selectbox(key="circuit-edge-src").set_value("demo/conv3/1")
    app.selectbox(key="circuit-edge-dst").set_value("demo/conv3/2")
    rerun(app.button(key="FormSubmitter:add-edge-Add edge").click().run())
    app.text_area(key="circuit-claim").set_value("Ablating conv3/1 removes dog heads")
    rerun(app.button(key="FormSubmitter:add-claim-Add claim").click().run())
    rerun(app.button(key="remove-node-demo/conv3/2").click().run())
    info = cat.circuit("dogs")
    assert info.nodes == [("demo/conv3/1", None)] and info.edges == []
    assert [c.prediction for c in info.claims] == ["Ablating conv3/1 removes dog heads"]
    open_page(app, "circuit", user="rita")
    claim = info.claims[0].id
    app.selectbox(key=f"claim-status-{claim}").set_value("supported")
    rerun(app.button(key=f"claim-judge-{claim}").click().run())
    assert cat.circuit("dogs").claims[0].status == "supported"


def test_unit_page_adds_to_a_circuit(app: AppTest, cat: Catalog):
    open_page(app, "unit", address="demo/conv3/5")
    app.text_input(key="add-circuit-role-demo/conv3/5").set_value("output")
    rerun(app.button(key="add-circuit-demo/conv3/5").click().run())
    assert ("demo/conv3/5", "output") in cat.circuit("curves").nodes
    assert "in circuit curves" in links(app)


def test_add_to_circuit_offers_the_units_own_model_first_and_asks_before_mixing_models(app: AppTest, cat: Catalog):
    cat.add_model("demo-b", "demo_cnn", layers=DEMO_LAYERS)
    cat.create_circuit("a-b-circuit", author="carl")  # sorts first by name, but holds demo-b units
    cat.add_circuit_node("a-b-circuit", "demo-b/conv2/1", author="carl")
    cat.create_circuit("empty", author="carl")
    open_page(app, "unit", address="demo/conv3/5")
    choice = app.selectbox(key="add-circuit-name-demo/conv3/5")
    assert choice.options == ["curves (demo)", "empty (empty)", "a-b-circuit (demo-b)"]
    choice.set_value("a-b-circuit").run()
    assert app.warning[0].value == "a-b-circuit holds units of demo-b, not of demo."
    assert app.button(key="add-circuit-demo/conv3/5").disabled
    app.checkbox(key="add-circuit-confirm-demo/conv3/5").check().run()
    rerun(app.button(key="add-circuit-demo/conv3/5").click().run())
    assert [address for address, _ in cat.circuit("a-b-circuit").nodes] == ["demo-b/conv2/1", "demo/conv3/5"]


def test_jobs_are_queued_and_cancelled(app: AppTest, cat: Catalog):
    open_page(app, "jobs")
    app.selectbox(key="jobs-layer").set_value("demo/conv3")
    rerun(app.button(key="FormSubmitter:enqueue-Queue").click().run())
    assert app.success[0].value == "Queued 2 visualization jobs for demo/conv3."
    assert [(j.kind, j.params["units"][0], j.params["kinds"]) for j in cat.jobs()] == [
        ("vis", 16, ["channel"]), ("vis", 0, ["channel"])]
    # The demo atlas's settings at the model's own input size, not settings of the app's own.
    assert cat.jobs()[0].params["render"] == {"size": cat.model("demo").input_size, "steps": DEMO_VIS_STEPS,
                                              "lr": DEMO_VIS_LR}
    assert "2 jobs waiting, but no worker has been seen for 60 s" in app.warning[0].value
    assert "atlas worker" in app.warning[0].value
    app.number_input(key="jobs-cancel-id").set_value(cat.jobs()[0].id)
    rerun(app.button(key="FormSubmitter:cancel-Cancel job").click().run())
    assert cat.job_counts() == {"queued": 1, "cancelled": 1}
    assert [e.action for e in cat.audit_log(limit=2)] == ["jobs.cancel", "jobs.enqueue"]
    app.button(key="FormSubmitter:cancel-Cancel job").click().run()  # cancelled already
    assert app.warning[0].value == f"Job {cat.jobs()[0].id} is not waiting, queued or running: nothing to do."
    rerun(app.button(key="FormSubmitter:cancel-Retry job").click().run())
    assert cat.job_counts() == {"queued": 2}
    assert cat.audit_log(limit=1)[0].action == "jobs.retry"


def test_jobs_page_stops_warning_once_a_worker_is_seen_and_estimates_the_time_left(app: AppTest, cat: Catalog):
    ids = cat.enqueue_layer_compute("vis", "demo/conv3", 8, {"kinds": ["channel"], "render": {}}, author="carl")
    queue = JobQueue(cat.engine)  # a worker's side of the queue: claim and finish one job
    queue.complete(queue.claim_next_job("w1", ["vis"], 60, job_ids=ids[:1]), {})
    open_page(app, "jobs")
    assert not app.warning  # a worker finished a job within the minute
    assert "About 30 min left at the rate of the last 10 minutes (1 job done)." in texts(app, "caption")


def test_connections_of_a_layer_pair_are_queued_with_their_ranking_job(app: AppTest, cat: Catalog):
    open_page(app, "jobs")
    app.selectbox(key="jobs-conn-src").set_value("conv2")
    app.selectbox(key="jobs-conn-dst").set_value("conv3")
    app.selectbox(key="jobs-conn-kind").set_value("expanded")
    app.number_input(key="jobs-conn-chunk").set_value(20)
    rerun(app.button(key="FormSubmitter:connections-Queue").click().run())
    assert app.success[0].value == ("Queued 2 expanded connection jobs for demo/conv2 → conv3 and one ranking "
                                    "job that waits for them.")
    jobs = sorted(cat.jobs(), key=lambda job: job.id)
    assert [(j.kind, j.status) for j in jobs] == [
        ("connections", "queued"), ("connections", "queued"), ("connections.rank", "waiting")]
    assert jobs[0].params["units"] == list(range(20)) and jobs[0].params["src"] == "conv2"
    assert cat.audit_log(limit=1)[0].action == "jobs.enqueue"
    app.selectbox(key="jobs-conn-src").set_value("conv3")  # backwards: refused, nothing queued
    app.button(key="FormSubmitter:connections-Queue").click().run()
    assert "does not come before conv3" in app.error[0].value and len(cat.jobs()) == 3


@sqlite_only
def test_connections_and_circuit_edges_show_their_sign(app: AppTest, cat: Catalog):
    """The shipped demo's real conv4 -> conv5 weights: conv4/58 -> conv5/21 is inhibitory
    (an all-negative kernel), shown with its negative net beside its norm, sortable by
    sign, and red in the circuit graph."""
    unit = store_shipped_edges(cat, "shipped")
    open_page(app, "unit", address=unit)
    [tab] = [tab for tab in app.tabs if tab.label == "Connections"]
    assert "Showing direct weights, strongest (norm)." in texts(app, "caption")
    [first, *_] = cards(sections(tab)["Top inputs"])
    # conv5 reads conv4 through a 2x2 max-pool: its kernels are in pooled coordinates
    assert first == (f"shipped/conv4/{SRC}", "net -1.41 · norm 0.487 · unlabelled · pooled kernel (max\\-pool 2x2/2)")
    app.selectbox(key="unit-edge-sort").set_value("inhibitory").run()
    [tab] = [tab for tab in app.tabs if tab.label == "Connections"]
    inhibitory = cards(sections(tab)["Top inputs"])
    nets = [float(caption.split()[1]) for _, caption in inhibitory]
    assert nets == sorted(nets) and nets[0] < 0 and all(n < 0 for n in nets) and len(nets) == 8
    assert inhibitory[0][0] == cat.top_inputs(unit, k=1, sort="inhibitory")[0].src
    excitatory = cat.top_inputs(unit, k=1, sort="excitatory")[0].src
    cat.create_circuit("signs", "one inhibitory, one excitatory input", author="carl")
    for src in (f"shipped/conv4/{SRC}", excitatory):
        cat.add_circuit_edge("signs", src, unit, author="carl")
    open_page(app, "circuit", name="signs")
    captions = texts(app, "caption")
    assert "Edges show direct weights (2)" in captions
    assert ":red[━━ inhibitory (net < 0)]" in captions and ":blue[━━ excitatory (net > 0)]" in captions
    [graph] = [e for e in app.main if type(e).__name__ == "UnknownElement"]  # st-cytoscape
    drawn = json.loads(graph.proto.json_args)["elements"]
    colours = {(e["data"]["source"], e["data"]["net"] < 0): e["data"]["colour"] for e in drawn if "source" in e["data"]}
    assert colours == {(f"shipped/conv4/{SRC}", True): "#b2182b", (excitatory, False): "#2166ac"}


def test_unit_page_shows_a_tuning_jobs_plot_and_summary(cat: Catalog, app: AppTest):
    import numpy as np

    from atlas.compute.tuning import TuningCurves, sized_sweep, store_tuning

    spec = sized_sweep({"sweep": "orientation", "steps": 12}, 64)
    values = np.arange(0, 360, 30.0)
    curves = TuningCurves("conv2", [3], spec, values, np.maximum(np.cos(np.radians(values - 90)), 0)[None])
    assert store_tuning(cat, "demo", curves) == 1
    open_page(app, "unit", address="demo/conv2/3")
    # Captions are markdown-escaped (``components.text.plain``): compared without the escapes.
    captions = [img.caption.replace("\\", "") for image in app.get("image") for img in image.proto.imgs]
    selectivity = curves.summaries()[0]["selectivity"]
    assert (f"orientation sweep, 12 steps, pre: preferred orientation 90 degrees, selectivity {selectivity:.2f}"
            in captions)


def test_layer_page_adds_a_direction_from_a_file_and_refuses_hostile_ones(app: AppTest, cat: Catalog):
    open_page(app, "layer")
    layer = "demo/conv1"  # the page's first layer: 8 channels
    form = f"FormSubmitter:direction-{layer}-Add direction"
    buffer = io.BytesIO()
    np.save(buffer, np.array([object(), 1, 2, 3, 4, 5, 6, 7], dtype=object), allow_pickle=True)
    for filename, data, why in (("pickled.npy", buffer.getvalue(), "pickled"),
                                ("nan.json", b"[1, 2, NaN, 0, 0, 0, 0, 0]", "finite numbers, not NaN"),
                                ("short.json", b"[1, 2]", "must be 8 finite numbers"),
                                ("huge.json", b"[" + b"0, " * 2_000_000 + b"0]", "larger than")):
        app.text_input(key=f"direction-name-{layer}").set_value("mine")
        app.file_uploader(key=f"direction-file-{layer}").set_value((filename, data, "application/octet-stream"))
        app.button(key=form).click().run()
        assert not app.exception and len(app.error) == 1, app.exception
        assert why in app.error[0].value and "\n" not in app.error[0].value, app.error[0].value
    assert cat.directions(layer) == []
    vector = [0.5, -1.0, 0.0, 2.0, 0.0, 0.0, 1.0, 0.25]
    app.text_input(key=f"direction-name-{layer}").set_value("mine")
    app.file_uploader(key=f"direction-file-{layer}").set_value(("mine.json", json.dumps(vector).encode(),
                                                                "application/json"))
    rerun(app.button(key=form).click().run())
    assert np.array_equal(cat.direction_vector(f"{layer}/dir:mine"), np.float32(vector))
    assert cat.audit_log(f"{layer}/dir:mine", limit=1)[0].actor == "carl"
    assert "Directions of demo/conv1 (each a feature with its own unit page):" in texts(app, "caption")
    assert "dir:mine" in links(app)
    assert [b for b in app.get("button") if "direction" in str(b.proto.id)]
    open_page(app, "layer", user="vic")  # a viewer sees the directions, not the form
    assert not [b for b in app.get("button") if "direction" in str(b.proto.id)]


def direction_jobs(cat: Catalog) -> list[tuple[str, dict]]:
    return [(job.kind, job.params) for job in cat.jobs(limit=None) if job.kind.startswith("directions.")]


def queue_diff(app: AppTest, layer: str, name: str, a: str, b: str) -> AppTest:
    app.text_input(key=f"direction-diff-name-{layer}").set_value(name)
    app.text_input(key=f"direction-diff-a-{layer}").set_value(a)
    app.text_input(key=f"direction-diff-b-{layer}").set_value(b)
    return app.button(key=f"FormSubmitter:direction-diff-{layer}-Queue difference of means").click().run()


def queue_nmf(app: AppTest, layer: str, n: int, dataset: str, prefix: str) -> AppTest:
    app.number_input(key=f"direction-nmf-n-{layer}").set_value(n)
    app.text_input(key=f"direction-nmf-dataset-{layer}").set_value(dataset)
    app.text_input(key=f"direction-nmf-prefix-{layer}").set_value(prefix)
    return app.button(key=f"FormSubmitter:direction-nmf-{layer}-Queue factorization").click().run()


def test_layer_page_queues_a_difference_of_means_and_a_factorization(app: AppTest, cat: Catalog):
    open_page(app, "layer")
    layer, size = "demo/conv1", cat.model("demo").input_size
    rerun(queue_diff(app, layer, "shapes", "synthetic:16", " synthetic:8 "))
    (kind, params), = direction_jobs(cat)
    assert kind == "directions.diff" and params == {
        "name": "shapes", "model": "demo", "layer": "conv1",
        "a": {"kind": "synthetic", "n": 16, "seed": 0, "size": size},
        "b": {"kind": "synthetic", "n": 8, "seed": 0, "size": size}}
    job_id = cat.jobs(limit=1)[0].id
    assert app.success[0].value.startswith(f"Queued job #{job_id}; a worker (or `atlas worker`) computes it")
    rerun(queue_nmf(app, layer, 3, "synthetic:32", "blocks"))
    (kind, params), = direction_jobs(cat)[:1]  # newest first
    assert kind == "directions.nmf" and params["n"] == 3 and params["prefix"] == "blocks"
    assert params["dataset"] == {"kind": "synthetic", "n": 32, "seed": 0, "size": size}
    entry = cat.audit_log(limit=1)[0]
    assert (entry.user, entry.action, entry.entity_id) == ("carl", "jobs.enqueue", layer)
    assert f"Queued job #{cat.jobs(limit=1)[0].id};" in app.success[0].value


def test_layer_page_refuses_hostile_direction_jobs_and_queues_nothing(app: AppTest, cat: Catalog):
    open_page(app, "layer")
    layer = "demo/conv1"
    for submit, why in ((lambda: queue_diff(app, layer, "shapes", "imagenet:all", "synthetic:8"), "invalid dataset"),
                        (lambda: queue_diff(app, layer, "bad\x1b[31mname", "synthetic:8", "synthetic:8"),
                         "invalid direction name"),
                        (lambda: queue_diff(app, layer, "shapes", "synthetic:8", "synthetic:1\x00"), "synthetic:N"),
                        (lambda: queue_nmf(app, layer, 0, "synthetic:32", "nmf"), "number of factors"),
                        (lambda: queue_nmf(app, layer, 65, "synthetic:32", "nmf"), "number of factors"),
                        (lambda: queue_nmf(app, layer, 4, "synthetic:32", "a\nb"), "invalid direction name")):
        submit()
        assert not app.exception and len(app.error) == 1, app.exception
        assert why in app.error[0].value and "\n" not in app.error[0].value, app.error[0].value
    assert direction_jobs(cat) == []
    open_page(app, "layer", user="vic")  # a viewer gets no forms
    assert not [b for b in app.get("button") if "direction-" in str(b.proto.id)]


def test_unit_page_opens_a_direction_with_its_label_and_connections(app: AppTest, cat: Catalog):
    """A direction is a feature like a unit: its page shows its label, its stored input
    edge and the forms, without an error (its address has no channel)."""
    cat.add_direction("demo/conv3", "roundness", np.linspace(-1, 1, 32), author="carl")
    address = "demo/conv3/dir:roundness"
    cat.set_label(address, "roundness direction", author="carl")
    cat.add_edges([NewEdge(RICH, address, "direct", 0.8, 0.2, 1.0)])
    open_page(app, "unit", address=address)
    assert app.title[0].value == address
    assert app.subheader[0].value == "roundness direction"
    [tab] = [tab for tab in app.tabs if tab.label == "Connections"]
    [(source, caption)] = cards(sections(tab)["Top inputs"])
    assert source == RICH and caption.startswith("net -0.8 · norm 0.8")
