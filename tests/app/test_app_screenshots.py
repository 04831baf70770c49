"""The screenshots in docs/app.md, made by a real browser from a small demo atlas so that
they show the app as it is.

The atlas is the real demo cut down to what a screenshot shows: both shipped demo models
with their trained weights and curated seed (labels waiting for review, families,
circuits), channel visualizations of one layer and of a circuit's units (few steps, small
size: a picture of the page, not of the science), dataset examples, direct connections,
and a comparison of the two models (matches and the CKA heatmap), all computed through
the job queue as `atlas demo` does. Each page is checked for what it must show, and for
no error, before its screenshot; each screenshot must be a non-blank image of the
viewport's size.

The PNGs go to the test's temporary directory, or, with ``ATLAS_UPDATE_SCREENSHOTS=1``,
to docs/figures/app/ (the command is in docs/app.md). Without Chromium or Playwright the
test is skipped locally and fails under CI (``tests/browser.py``).
"""

from __future__ import annotations

import io
import os
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from browser import browser_page, require_browser, wait_until_idle
from PIL import Image
from served_app import served_app
from tqdm import tqdm

from atlas import Catalog
from atlas.compute.datasets.spec import parse_dataset
from atlas.compute.datasets.stimuli import stimulus_set
from atlas.compute.demo_atlas import register_demo_models
from atlas.compute.run import run_jobs
from atlas.vocabulary import COMPARE_KINDS, CONNECTION_KINDS, DEMO_VIS_LR, MATCH_METHODS

pytestmark = pytest.mark.slow

UPDATE = "ATLAS_UPDATE_SCREENSHOTS"
FIGURES = Path(__file__).resolve().parents[2] / "docs" / "figures" / "app"
VIEWPORT = {"width": 1280, "height": 900}
RENDER = {"size": 48, "steps": 16, "lr": DEMO_VIS_LR}  # seconds, not the demo's minutes
IMAGES = "synthetic:300"
LAYER, OTHER_LAYER = "demo/conv3", "demo-b/conv3"  # the layer browsed, and compared with demo-b's
CIRCUIT = "demo-circle-circuit"  # demo/conv3/37, 38, 45 -> demo/conv4/58, from the seed
UNIT, INPUT = "demo/conv4/58", "demo/conv3/45"
MATCHES_SHOWN = 16  # the compare page's first page of matches
SHOWN_METHOD = MATCH_METHODS[0]  # the matches it shows first
JOB_KINDS = ("vis", "examples", *CONNECTION_KINDS, *COMPARE_KINDS)


def run(cat: Catalog, ids: list[int]) -> None:
    """Run these queued jobs here, as `atlas demo` does (one local worker, quietly)."""
    run_jobs(cat, ids, JOB_KINDS, "cpu", progress=partial(tqdm, disable=True))


def by_layer(addresses: list[str]) -> dict[str, list[int]]:
    """``model/layer/unit`` addresses grouped as ``model/layer`` -> units."""
    layers: dict[str, list[int]] = {}
    for address in addresses:
        layer, unit = address.rsplit("/", 1)
        layers.setdefault(layer, []).append(int(unit))
    return layers


def visualize(cat: Catalog, layer: str, units: list[int] | None = None) -> list[int]:
    return cat.enqueue_layer_compute("vis", layer, 64, {"kinds": ["channel"], "render": RENDER, "force": False},
                                     units=units)


def build_small_demo(cat: Catalog) -> dict[str, int]:
    """The cut-down demo atlas (see the module's docstring); returns how many units of
    each model have a channel visualization."""
    register_demo_models(cat)
    cat.load_seed("demo", author="carl")
    circuit = by_layer([node for node, _ in cat.circuit(CIRCUIT).nodes])  # demo/conv3 and demo/conv4
    size = cat.model("demo").input_size
    examples = {"dataset": parse_dataset(IMAGES, size), "k": 6, "force": False}
    src, dst = sorted(circuit)
    run(cat, [*visualize(cat, LAYER),
              *(job for layer, units in circuit.items() if layer != LAYER for job in visualize(cat, layer, units)),
              *(job for layer, units in circuit.items()
                for job in cat.enqueue_layer_compute("examples", layer, 64, examples, units=units)),
              *cat.enqueue_connections(src, dst, "direct", 12),
              *cat.enqueue_comparison(LAYER, OTHER_LAYER, stimulus_set(size, IMAGES, None))])
    partners = by_layer([r.dst for r in cat.relations(LAYER, OTHER_LAYER, method=SHOWN_METHOD)[:MATCHES_SHOWN]])
    run(cat, visualize(cat, OTHER_LAYER, partners[OTHER_LAYER]))
    outside = sum(len(units) for layer, units in circuit.items() if layer != LAYER)
    return {"demo": cat.layer(LAYER).channels + outside, "demo-b": len(partners[OTHER_LAYER])}


@pytest.fixture
def demo_app(tmp_path: Path):
    """The small demo atlas in an SQLite file, served by `streamlit run`; yields the base
    URL, the catalogue's URLs and how many units of each model were visualized."""
    require_browser()  # before the build: a missing browser is said at once
    url, blobs = f"sqlite:///{tmp_path / 'atlas.db'}", str(tmp_path / "blobs")
    with Catalog.init(url, blobs, admin="alice") as cat:
        cat.add_user("carl", "curator")
        cat.add_user("rita", "reviewer")
        visualized = build_small_demo(cat)
    with served_app(url, blobs, tmp_path / "streamlit.log") as base:
        yield base, url, blobs, visualized


def shoot(page, expect, path: Path) -> None:
    """Once the page has finished its run, shows no error and every image has loaded,
    a screenshot of the viewport, which must be a real picture of that size; saved with a
    palette of 256 colours (a third of the size of the browser's PNG, alike to the eye)."""
    wait_until_idle(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_test_id("stAlertContentError")).to_have_count(0)
    page.wait_for_function("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    with Image.open(io.BytesIO(page.screenshot())) as image:
        assert image.size == (VIEWPORT["width"], VIEWPORT["height"])
        pixels = np.asarray(image.convert("RGB"))
        image.quantize(256).save(path, optimize=True)
    colours = np.unique(pixels.reshape(-1, 3), axis=0)
    assert pixels.std() > 10 and len(colours) > 200, f"{path.name} looks blank"
    with Image.open(path) as saved:
        assert saved.size == image.size


def test_screenshots_of_the_main_pages(demo_app, tmp_path: Path):
    base, db_url, blobs, visualized = demo_app
    out = FIGURES if os.environ.get(UPDATE) else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    with Catalog.open(db_url, blobs) as cat:
        waiting = cat.review_queue(limit=1).total
        channels = cat.layer(LAYER).channels
        matches = cat.relations(LAYER, OTHER_LAYER, method=SHOWN_METHOD)
    with browser_page(VIEWPORT) as (page, expect):
        page.goto(f"{base}/?as=carl")
        expect(page.get_by_role("heading", name="Circuit Atlas")).to_be_visible()
        for model, shown in visualized.items():
            expect(page.get_by_text(f"{model} · 6 layers").filter(has_text=f"{shown} visualized")).to_be_visible()
        expect(page.get_by_role("heading", name="Recent activity")).to_be_visible()
        shoot(page, expect, out / "home.png")

        model, layer = LAYER.split("/")
        page.goto(f"{base}/layer?model={model}&layer={layer}&as=carl")
        grid = f"{channels} of {channels} units in {LAYER} match; showing {channels}."
        expect(page.get_by_text(grid)).to_be_visible()
        expect(page.get_by_text("circle detector").first).to_be_visible()
        shoot(page, expect, out / "layer.png")

        page.goto(f"{base}/unit?address={UNIT}&as=carl")
        expect(page.get_by_role("heading", name=UNIT)).to_be_visible()
        expect(page.get_by_role("heading", name="circle detector")).to_be_visible()
        expect(page.get_by_text(f"{RENDER['steps']} steps · lr {RENDER['lr']:g}")).to_be_visible()
        expect(page.get_by_role("tab", name="Dataset examples")).to_be_visible()
        expect(page.get_by_text("top 6: the images that excite it most")).to_have_count(1)  # in its tab
        shoot(page, expect, out / "unit.png")

        page.goto(f"{base}/compare?a=demo&a_layer={LAYER.split('/')[1]}&b=demo-b"
                  f"&b_layer={OTHER_LAYER.split('/')[1]}&as=carl")
        expect(page.get_by_role("heading", name=f"Matches ({len(matches)})")).to_be_visible()
        best = matches[0]
        expect(page.get_by_text(f"{best.score:.3f}", exact=True).first).to_be_visible()
        for unit in (best.src, best.dst):
            expect(page.get_by_role("link", name=unit).first).to_be_visible()
        heatmap = page.get_by_test_id("stImage").filter(has_text="linear CKA, demo (rows) ~ demo-b (columns)")
        expect(heatmap.locator("img")).to_have_count(1)
        shoot(page, expect, out / "compare.png")

        page.goto(f"{base}/circuit?name={CIRCUIT}&as=carl")
        expect(page.get_by_role("heading", name=CIRCUIT)).to_be_visible()
        graph = page.locator("iframe").first.content_frame.locator("canvas").first
        expect(graph).to_be_visible()
        expect(page.get_by_role("tab", name="Nodes (4)")).to_be_visible()
        shoot(page, expect, out / "circuit.png")

        page.goto(f"{base}/review?as=rita")
        expect(page.get_by_text(f"{waiting} labels waiting; showing 1–25")).to_be_visible()
        expect(page.get_by_role("button", name="Accept").first).to_be_visible()
        shoot(page, expect, out / "review.png")

        page.goto(f"{base}/pair?a={INPUT}&b={UNIT}&as=carl")
        expect(page.get_by_text(f"{INPUT} → {UNIT} · direct")).to_be_visible()
        shoot(page, expect, out / "pair.png")
