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
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from app_seed import RICH, seed
from conftest import DEMO_LAYERS
from served_app import free_port, wait_healthy

from atlas import Catalog
from atlas.cli.launch import app_command
from tests.availability import unavailable

CHROMIUM = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
STEP_MS = 30_000

pytestmark = pytest.mark.slow


def chromium() -> str:
    found = next((path for path in CHROMIUM if Path(path).exists()), None) or shutil.which("chromium")
    if found is None:
        unavailable("Chromium is not installed (apt-get install chromium)")
    return found


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
    port = free_port()
    env = {**os.environ, "ATLAS_DATABASE_URL": url, "ATLAS_BLOB_URL": blobs}
    env.pop("ATLAS_AUTH", None)
    env.update(auth_env)
    log = tmp_path / "streamlit.log"  # a file, not a pipe nobody reads: a full pipe would block the server
    with log.open("w") as out:
        server = subprocess.Popen(app_command(port), env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base, server, log)
        yield base, url, blobs
    finally:
        server.terminate()
        server.wait(timeout=10)
    # The app calls no deprecated Streamlit API (Streamlit logs one on every rerun).
    assert "deprecat" not in log.read_text().lower(), log.read_text()[-2000:]


def wait_until_idle(page) -> None:
    """Change a widget only between script runs: a change sent while a run (the one the
    last widget or URL change started) is still going can be lost, which made the filter
    step flaky on a loaded machine. Streamlit marks the app with its script state."""
    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=STEP_MS)


def choose(page, expect, label: str, option: str) -> None:
    """Pick ``option`` in the selectbox ``label`` by clicking it. Streamlit's newer selectbox
    (a react-aria combobox) may take a first click as focus only, and typing a name then
    Enter selected nothing when the list had not filtered yet; so open the list until the
    option shows, then click the option itself."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    combobox = page.get_by_role("combobox", name=label)
    choice = page.get_by_role("option", name=option, exact=True)
    for _ in range(3):
        combobox.click()
        try:
            choice.wait_for(state="visible", timeout=5_000)
            break
        except PlaywrightTimeout:
            continue
    choice.click()
    expect(combobox).to_have_value(option)


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
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install playwright)")
    executable = chromium()
    base, db_url, blobs = server
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(STEP_MS)
        expect.set_options(timeout=STEP_MS)

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
        browser.close()

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
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install playwright)")
    executable = chromium()
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
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(STEP_MS)
        expect.set_options(timeout=STEP_MS)

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
        browser.close()

    with Catalog.open(db_url, blobs) as cat:
        assert cat.feature(newest).label.status == "accepted"
