"""The app in a real browser: `streamlit run` on 127.0.0.1 driven by Playwright with
Debian's Chromium. A curator opens a unit from a link naming them (``?as=carl``), proposes
a label, reloads and switches page as the same curator, and finds the label through search;
then narrows a search with a filter and sees a hit go. A reviewer sorts a queue longer than
a page newest first and accepts the newest label, opens a shared layer URL on the same grid,
and sees a failed visualization flagged "no response". The tests save a screenshot of
each step. And the server's own websocket, spoken to directly, for requests no browser sends
(an identity header given twice).

Under CI (``CI`` set) a missing browser or Playwright fails the test instead of skipping.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from app_seed import RICH, seed
from browser import STEP_MS, browser_page, choose, wait_until_idle
from conftest import DEMO_LAYERS
from served_app import served_app

from atlas import Catalog

pytestmark = pytest.mark.slow


@pytest.fixture
def auth_env() -> dict[str, str]:
    """ATLAS_AUTH and friends for the server (none: the sidebar picker); a test may
    parametrize it."""
    return {}


@pytest.fixture
def server(tmp_path: Path, auth_env: dict[str, str]):
    """A seeded SQLite catalogue served by `streamlit run`; yields the base URL."""
    url, blobs = f"sqlite:///{tmp_path / 'atlas.db'}", str(tmp_path / "blobs")
    with Catalog.init(url, blobs, admin="alice") as cat:
        cat.add_user("carl", "curator")
        cat.add_user("rita", "reviewer")
        cat.add_user("cora", "curator")
        cat.add_model("demo", "demo_cnn", layers=DEMO_LAYERS)
        seed(cat)
    with served_app(url, blobs, tmp_path / "streamlit.log", auth_env) as base:
        yield base, url, blobs


def narrow_to_units_without_evidence(page, expect, base: str) -> None:
    """Search "detector": RICH (its label, and its link to ".../curve-detectors/") and
    demo/conv2/5 (no evidence) are found; the Evidence filter set to "without evidence"
    must drop both of RICH's hits and keep the other."""
    page.goto(f"{base}/search?q=detector")
    expect(page.get_by_label("Query")).to_have_value("detector")
    rich, other = page.get_by_role("link", name=RICH), page.get_by_role("link", name="demo/conv2/5")
    expect(rich.first).to_be_visible()
    expect(other).to_be_visible()
    wait_until_idle(page)
    page.get_by_text("Filters", exact=True).click()
    wait_until_idle(page)
    choose(page, expect, "Evidence", "without evidence")
    wait_until_idle(page)
    expect(rich).to_have_count(0)
    expect(other).to_be_visible()


def test_curator_proposes_a_label_and_finds_it(server, tmp_path: Path):
    base, db_url, blobs = server
    with browser_page() as (page, expect):

        page.goto(f"{base}/unit?address={RICH}&as=carl")  # a shared link naming the curator
        you_are = page.get_by_role("combobox", name="You are")
        expect(you_are).to_have_value("carl")
        expect(page.get_by_role("heading", name=RICH)).to_be_visible()
        expect(page.get_by_text("curve detector").first).to_be_visible()
        page.get_by_label("Label", exact=True).fill("left-facing curve detector")
        page.get_by_role("button", name="Save label").click()
        expect(page.get_by_text("Saved version 2.")).to_be_visible()
        page.screenshot(path=str(tmp_path / "unit.png"), full_page=True)

        page.reload()  # a reload keeps who you are: the pick is in the URL
        expect(you_are).to_have_value("carl")
        page.get_by_role("link", name="Search").click()  # so does a page switch
        expect(you_are).to_have_value("carl")
        page.wait_for_url("**/search?as=carl")
        query = page.get_by_label("Query")
        query.fill("left-facing")
        query.press("Enter")
        expect(page.get_by_role("link", name=RICH)).to_be_visible()
        page.screenshot(path=str(tmp_path / "search.png"), full_page=True)
        narrow_to_units_without_evidence(page, expect, base)
        page.screenshot(path=str(tmp_path / "filtered.png"), full_page=True)

    with Catalog.open(db_url, blobs) as cat:
        label = cat.feature(RICH).label
    assert (label.text, label.author, label.version) == ("left-facing curve detector", "carl", 2)
    assert (tmp_path / "search.png").stat().st_size > 10_000


async def _first_run(base: str, headers: list[tuple[str, str]]) -> list[str]:
    """Open a session on the server's websocket with these request headers, run the
    default page once and return its text elements (``error: …``, ``markdown: …``)."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    stream = base.replace("http://", "ws://") + "/_stcore/stream"
    async with websockets.connect(stream, additional_headers=headers, subprotocols=["streamlit"],
                                  max_size=None) as socket_:
        rerun = BackMsg()
        rerun.rerun_script.query_string = ""
        await socket_.send(rerun.SerializeToString())
        shown = []
        while True:
            message = ForwardMsg()
            message.ParseFromString(await asyncio.wait_for(socket_.recv(), STEP_MS / 1000))
            kind = message.WhichOneof("type")
            if kind == "script_finished":
                return shown
            if kind == "delta" and message.delta.WhichOneof("type") == "new_element":
                element = message.delta.new_element
                if element.WhichOneof("type") == "alert":
                    shown.append(f"error: {element.alert.body}")
                elif element.WhichOneof("type") == "markdown":
                    shown.append(f"markdown: {element.markdown.body}")


@pytest.mark.parametrize("auth_env", [{"ATLAS_AUTH": "header"}])
def test_identity_header_sent_twice_is_refused_by_the_server(server):
    """Behind a proxy that appends, the client's own X-Forwarded-User comes first: the
    running server must refuse the request, not take the first (or last) name."""
    base = server[0]
    assert "markdown: **carl** · curator" in asyncio.run(_first_run(base, [("X-Forwarded-User", "carl")]))
    for headers in ([("X-Forwarded-User", "alice"), ("X-Forwarded-User", "carl")],
                    [("X-Forwarded-User", "alice, carl")]):
        shown = asyncio.run(_first_run(base, headers))
        assert shown == ["error: the request carries the X-Forwarded-User header more than once: refused. "
                         "The authenticating proxy must overwrite this header, not append to it."]


def test_reviewer_pages_to_the_newest_label_opens_a_shared_grid_and_sees_a_failed_render(server, tmp_path: Path):
    """More labels wait than a page shows; the reviewer sorts newest first and accepts the
    newest. A layer URL someone shared opens on the same layer and filter. A channel
    visualization the unit did not respond to is flagged on the grid and the unit page."""
    base, db_url, blobs = server
    newest = "demo/conv3/31"
    with Catalog.open(db_url, blobs, user="alice") as cat:
        for unit in range(3, 32):
            cat.set_label(f"demo/conv3/{unit}", f"texture {unit}", author="carl")
        flat = cat.blobs.put_png(np.full((32, 32, 3), 128, dtype=np.uint8))
        cat.add_artifact("demo/conv2/7", "vis.channel", {"steps": 16}, {"image": flat},
                         outcome={"value": 0.0, "contrast": 0.0})
        waiting = cat.review_queue(limit=1).total
    assert waiting > 25
    with browser_page() as (page, expect):

        page.goto(f"{base}/review?as=rita")
        expect(page.get_by_text(f"{waiting} labels waiting; showing 1–25")).to_be_visible()
        expect(page.get_by_role("link", name=newest)).to_have_count(0)  # not on the first page, oldest first
        wait_until_idle(page)
        choose(page, expect, "Order", "newest first")
        wait_until_idle(page)
        expect(page.get_by_role("link", name=newest)).to_be_visible()
        page.screenshot(path=str(tmp_path / "review.png"), full_page=True)
        page.get_by_role("button", name="Accept").first.click()
        expect(page.get_by_text(f"{newest}: accepted.")).to_be_visible()

        page.goto(f"{base}/layer?model=demo&layer=conv3&labels=labelled&size=32&as=rita")  # a shared link
        expect(page.get_by_role("combobox", name="Layer")).to_have_value("conv3")
        expect(page.get_by_role("combobox", name="Labels")).to_have_value("labelled")
        expect(page.get_by_text("of 32 units in demo/conv3 match")).to_be_visible()
        page.screenshot(path=str(tmp_path / "layer.png"), full_page=True)

        page.goto(f"{base}/layer?model=demo&layer=conv2&as=rita")
        expect(page.get_by_text("⚠ no response (activation 0)")).to_be_visible()
        page.goto(f"{base}/unit?address=demo/conv2/7&as=rita")
        expect(page.get_by_text("vis.channel: no response (activation 0)")).to_be_visible()
        page.screenshot(path=str(tmp_path / "flagged.png"), full_page=True)

    with Catalog.open(db_url, blobs) as cat:
        assert cat.feature(newest).label.status == "accepted"
