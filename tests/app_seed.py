"""A small curated catalogue for the app tests (AppTest and the browser test) and the
layer-grid benchmark: the ``demo`` model of conftest with channel visualizations for every
unit, one richly documented unit (demo/conv2/3), edges with kernels, labels waiting for
review, a family and a circuit with a claim."""

from __future__ import annotations

import zlib

import numpy as np

from atlas import Catalog, NewEdge
from atlas.catalog.api.examples import EXAMPLE_RECORD
from atlas.catalog.edge_store import kernel_table

RICH = "demo/conv2/3"


def tile(seed: int, size: int = 32) -> np.ndarray:
    """A distinct little image per unit (stands in for a feature visualization)."""
    rng = np.random.default_rng(seed)
    return (rng.random((size // 4, size // 4, 3)).repeat(4, 0).repeat(4, 1) * 255).astype(np.uint8)


def add_visualizations(cat: Catalog, layer: str, channels: int, size: int = 32) -> None:
    for channel in range(channels):
        sha = cat.blobs.put_png(tile(zlib.crc32(f"{layer}/{channel}".encode()), size))
        cat.add_artifact(f"{layer}/{channel}", "vis.channel", {"steps": 1}, {"image": sha})


def add_connections(cat: Catalog) -> None:
    """conv1 -> conv2/3 and conv2/3 -> conv3 edges, with a 3x3 kernel blob for conv2/3."""
    sources = np.arange(4)
    kernels = np.stack([np.linspace(-1, 1, 9).reshape(3, 3) * (c + 1) for c in sources])
    kernel_sha = cat.blobs.put_array(kernel_table(sources, kernels.astype(np.float16)))
    edges = [NewEdge(f"demo/conv1/{c}", RICH, "direct", float(c + 1) * (-1) ** c, kernel_sha256=kernel_sha)
             for c in sources]
    edges += [NewEdge(RICH, f"demo/conv3/{c}", "direct", 0.5 + c) for c in range(3)]
    cat.add_edges(edges)


def add_rich_unit(cat: Catalog) -> None:
    blobs = cat.blobs
    cat.add_artifact(RICH, "vis.negative", {}, {"image": blobs.put_png(tile(1))})
    cat.add_artifact(RICH, "vis.diversity", {}, {"images": [blobs.put_png(tile(s)) for s in (2, 3)]})
    # The shape atlas.compute.examples stores: PNG crops most extreme first, and the records
    # (dataset index, pre-activation, y, x) as a (2, k) array, top then bottom.
    records = np.zeros((2, 3), dtype=EXAMPLE_RECORD)
    records["index"] = [[11, 12, 13], [40, 41, 42]]
    records["value"] = [[5.25, 4.5, 3.75], [-2.5, -2.0, -1.5]]
    cat.add_artifact(RICH, "examples", {"site": "pre"},
                     {"top": [blobs.put_png(tile(s, 64)) for s in (4, 5, 6)],
                      "bottom": [blobs.put_png(tile(7, 64))], "records": blobs.put_array(records)})
    angles = np.linspace(0, 180, 13)
    curve = np.stack([angles, np.cos(np.radians(angles - 45)) ** 2], axis=1)
    cat.add_artifact(RICH, "tuning_curve", {"x_label": "orientation", "names": ["response"]},
                     {"curve": blobs.put_array(curve)})
    cat.set_label(RICH, "curve detector", confidence=0.7, author="carl")
    cat.add_evidence("note", "Fires on **curves**. <script>alert('x')</script>", feature=RICH, author="carl")
    cat.add_evidence("link", "https://distill.pub/2020/circuits/curve-detectors/", feature=RICH, author="carl")


def seed(cat: Catalog) -> Catalog:
    """Seed a catalogue that has conftest's ``demo`` model and users."""
    for layer, channels in (("demo/conv1", 8), ("demo/conv2", 16), ("demo/conv3", 32)):
        add_visualizations(cat, layer, channels)
    add_connections(cat)
    add_rich_unit(cat)
    cat.set_label("demo/conv2/5", "high-low frequency detector", "disputed", author="cora")
    cat.set_label("demo/conv3/1", "dog head", author="cora")
    cat.set_label("demo/conv3/2", "circle", "accepted", author="rita")
    cat.create_family("curve detectors", "curves in many orientations", author="carl")
    cat.add_family_member("curve detectors", RICH, author="carl")
    cat.create_circuit("curves", "Curve detectors built from *lines*.", author="carl")
    for address in ("demo/conv1/0", RICH):
        cat.add_circuit_node("curves", address, author="carl")
    cat.add_circuit_edge("curves", "demo/conv1/0", RICH, "line feeds curve", author="carl")
    cat.add_claim("curves", "Zeroing conv1/0 -> conv2/3 lowers the curve response", author="carl")
    return cat
