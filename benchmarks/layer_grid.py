"""Server-side render time of the layer browser's grid at 512 units per page.

    python -m benchmarks.layer_grid [--units 832] [--page 512] [--repeats 3] [--dialects sqlite,postgresql]
        [--labels 0] [--edges 0]

A fresh catalogue on each database (PostgreSQL: $ATLAS_TEST_POSTGRES_URL, as
``benchmarks.catalogue``) gets a layer of ``--units`` units (832, like InceptionV1's
mixed4c), each with a 128-pixel channel visualization in the blob store, every fourth
one labelled, and every eighth re-rendered with a recorded outcome the unit did not
respond to, so the grid shows it flagged "no response". The layer page is run through
Streamlit's AppTest (the whole script: the catalogue query, thumbnails and every element
of the grid, without the browser) with ``--page`` units per page: cold (the thumbnail
cache empty, every blob read and scaled) and warm (thumbnails cached), best of
``--repeats``. The baseline is the catalogue query alone (``Catalog.layer_page``).
Target: warm render under 1.5 s.

``--labels N`` and ``--edges N`` first fill the catalogue with other models' units, labels
and edges, as ``benchmarks.catalogue`` builds them in bulk (a lab's shared catalogue:
1,000,000 and 10,000,000 at ten times today's scale), so the grid is timed against big
labels and edges tables: its queries must reach only the layer's own rows.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The app tests' seeding helpers; they replace this script's own folder on the path,
# where benchmarks/queue.py would shadow the standard library's queue module.
sys.path[0] = str(ROOT / "tests")
sys.path.insert(1, str(ROOT / "app"))  # the thumbnail cache, to empty it for the cold run
sys.path.insert(2, str(ROOT))  # benchmarks.catalogue's fresh catalogues

from app_seed import add_visualizations  # noqa: E402
from components import thumbs  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from atlas import Catalog  # noqa: E402
from benchmarks.catalogue import add_edges, add_labels, fresh_catalogue  # noqa: E402

TARGET_S = 1.5
LAYER = "bench/mixed4c"


def build(cat: Catalog, units: int, labels: int, edges: int) -> None:
    cat.add_user("bench", "admin")
    if labels:
        start = time.perf_counter()
        add_labels(cat, labels, random.Random(0), model="others")
        cat.reindex()
        print(f"  {labels:,} labels of another model, indexed for search, in {time.perf_counter() - start:.0f} s")
    if edges:
        stored, load_s = add_edges(cat, edges, model="wired")
        print(f"  {stored:,} edges of another model loaded in {load_s:.0f} s")
    cat.add_model("bench", "inceptionv1", layers=[
        {"name": "mixed4c", "kind": "concat", "channels": units, "spatial_shape": [14, 14]}])
    add_visualizations(cat, LAYER, units, size=128)
    for channel in range(0, units, 8):  # a newer render of the same kind, which failed
        image = cat.artifacts(f"{LAYER}/{channel}", "vis.channel")[0].blobs
        cat.add_artifact(f"{LAYER}/{channel}", "vis.channel", {"steps": 2}, image,
                         outcome={"value": 0.001, "contrast": 0.2})
    for channel in range(0, units, 4):
        cat.set_label(f"{LAYER}/{channel}", f"unit {channel} detector")


def render(page_size: int) -> float:
    """Seconds for one run of the layer page at ``page_size`` (the app already warm)."""
    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=120)
    at.switch_page("views/layer.py").run()
    at.selectbox(key="layer-size").set_value(page_size)
    start = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - start
    assert not at.exception and len(at.get("image")) == page_size, at.exception
    assert sum("no response" in c.value for c in at.caption) == page_size // 8  # the flags are drawn
    return elapsed


def measure(dialect: str, root: Path, units: int, page: int, repeats: int, labels: int, edges: int) -> None:
    with fresh_catalogue(dialect, root) as cat:
        start = time.perf_counter()
        build(cat, units, labels, edges)
        print(f"{dialect}: {units} units with 128 px visualizations (and the catalogue around them) "
              f"in {time.perf_counter() - start:.1f} s")
        os.environ.update(ATLAS_DATABASE_URL=cat.engine.url.render_as_string(hide_password=False),
                          ATLAS_BLOB_URL=cat.blobs.url, ATLAS_USER="bench")
        os.environ.pop("ATLAS_AUTH", None)
        query = min(_timed(lambda: cat.layer_page(LAYER, 0, page)) for _ in range(repeats))
        render(32)  # imports and the first script run are not what is measured
        thumbs._thumbnail.cache_clear()
        cold = render(page)
        warm = min(render(page) for _ in range(repeats))
    print(f"{dialect}: catalogue query (baseline), {page} units: {query * 1000:.0f} ms")
    print(f"{dialect}: grid render, cold thumbnails:  {cold:.2f} s  ({cold / query:.0f}x the query)")
    print(f"{dialect}: grid render, cached thumbnails: {warm:.2f} s  ({warm / query:.0f}x the query)")
    print(f"{dialect}: target {TARGET_S} s: {'met' if warm < TARGET_S else 'MISSED'} (ratio {warm / TARGET_S:.2f}); "
          f"load average {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--units", type=int, default=832)
    parser.add_argument("--page", type=int, default=512, choices=[32, 64, 128, 256, 512])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dialects", default="sqlite,postgresql")
    parser.add_argument("--labels", type=int, default=0, help="labels of another model in the catalogue")
    parser.add_argument("--edges", type=int, default=0, help="edges of another model in the catalogue")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as directory:
        for dialect in args.dialects.split(","):
            measure(dialect, Path(directory), args.units, args.page, args.repeats, args.labels, args.edges)


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
