"""Which units have direct weights, which kernels are pooled, and what pages show instead.

InceptionV1 (random init, built in code) ``mixed3a -> mixed3b``: the 1x1 branch reads
``mixed3a`` directly, the pool branch through a 3x3 max-pool, and the 3x3 and 5x5 branches
only through their bottleneck convs: no direct weights there. The demo CNN is all direct.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from atlas import Catalog
from atlas.cli import main
from atlas.compute.connections import direct_connections, pair_chunk, store_connections
from atlas.compute.connections.direct import direct_kernels
from atlas.compute.models.demo_cnn import DemoCNN
from atlas.compute.models.inceptionv1 import InceptionV1

SIZE = 64
ONE, THREE, FIVE, POOL = range(0, 128), range(128, 320), range(320, 416), range(416, 480)


@pytest.fixture(scope="module")
def inception() -> InceptionV1:
    torch.manual_seed(0)
    return InceptionV1().eval()


def test_mixed3b_units_behind_bottlenecks_have_no_direct_weights(inception: InceptionV1):
    weights = direct_kernels(inception, "mixed3a", "mixed3b", SIZE)
    with_weights = weights.connected.any(1).nonzero()[:, 0].tolist()
    assert with_weights == [*ONE, *POOL]  # 192 of 480
    by_branch = {(p.dst_start, p.dst_count): (p.kind, p.conv, p.route) for p in weights.paths}
    assert by_branch == {
        (0, 128): ("direct", "mixed3b_1x1", ""),
        (128, 192): ("indirect", "mixed3b_3x3", "mixed3b_3x3_bottleneck"),
        (320, 96): ("indirect", "mixed3b_5x5", "mixed3b_5x5_bottleneck"),
        (416, 64): ("pooled", "mixed3b_pool_reduce", "max-pool 3x3/1"),
    }
    w = inception.mixed3b_pool_reduce_pre_relu_conv.weight.detach()
    torch.testing.assert_close(weights.kernels[POOL.start:, :, 0, 0], w[:, :, 0, 0])


def test_the_demo_cnn_is_all_direct_with_its_pooled_inputs_named():
    torch.manual_seed(1)
    model = DemoCNN((8, 16, 32, 32, 32)).eval()
    names = ["conv1", "conv2", "conv3", "conv4", "conv5"]
    for src, dst in zip(names, names[1:]):
        weights = direct_kernels(model, src, dst, SIZE)
        assert weights.connected.all()
        torch.testing.assert_close(weights.kernels, getattr(model, dst).weight.detach())
        (path,) = weights.paths
        # conv2 -> conv3 and on: a 2x2 max-pool sits before each conv.
        expected = ("direct", "") if src == "conv1" else ("pooled", "max-pool 2x2/2")
        assert (path.kind, path.route, path.dst_count, path.src_count) == (
            *expected, model.widths[names.index(dst)], model.widths[names.index(src)])


@pytest.fixture
def inception_catalog(catalog: Catalog, inception: InceptionV1) -> Catalog:
    layers = [{"name": name, "kind": "concat", "channels": channels, "spatial_shape": [8, 8]}
              for name, channels in (("mixed3a", 256), ("mixed3b", 480))]
    catalog.add_model("inceptionv1", "inceptionv1", layers=layers, input_spec={"size": [SIZE, SIZE]})
    store_connections(catalog, "inceptionv1", direct_connections(inception, "mixed3a", "mixed3b", 3, input_size=SIZE))
    return catalog


def show(db_url: str, blob_dir: str, capsys, *args: str) -> str:
    assert main(["--db", db_url, "--blobs", blob_dir, "--user", "alice", "show", *args, "-k", "3"]) in (0, None)
    return capsys.readouterr().out


def test_pages_fall_back_to_expanded_weights_and_say_why(inception_catalog: Catalog, inception: InceptionV1,
                                                        db_url: str, blob_dir: str, capsys):
    cat = inception_catalog
    plain = cat.shown_connections("inceptionv1/mixed3b/5", 3)
    assert (plain.kind, plain.note, plain.pooled) == ("direct", None, {})
    assert len(plain.edges) == 3

    curve = cat.shown_connections("inceptionv1/mixed3b/330", 3)  # a 5x5-branch unit
    assert (curve.kind, curve.edges) == ("expanded", [])
    assert "this unit is reached from mixed3a through mixed3b_5x5_bottleneck → mixed3b_5x5" in curve.note
    assert "no expanded weights computed yet (atlas compute expanded --model inceptionv1 --pair mixed3a:mixed3b)" \
        in curve.note
    assert [p.kind for p in cat.direct_paths("inceptionv1/mixed3b/330")] == ["indirect"]

    pooled = cat.shown_connections("inceptionv1/mixed3b/420", 3)
    assert pooled.kind == "direct" and len(pooled.edges) == 3
    assert pooled.pooled == {edge.id: "max-pool 3x3/1" for edge in pooled.edges}
    assert "pass through max-pool 3x3/1 before mixed3b_pool_reduce" in pooled.note

    outputs = cat.shown_connections("inceptionv1/mixed3a/7", 3, "out")
    assert outputs.kind == "direct"
    assert {int(e.dst.rsplit("/", 1)[1]) for e in outputs.edges} <= set(ONE) | set(POOL)
    assert "direct weights reach 192 of 480 units of mixed3b" in outputs.note
    assert set(outputs.pooled) == {e.id for e in outputs.edges if int(e.dst.rsplit("/", 1)[1]) in POOL}

    # Expanded weights of a few units (a chunk: the whole layer takes seconds more).
    chunk = pair_chunk(inception, "expanded", "mixed3a", "mixed3b", [330, 331, 5], SIZE)
    conn = chunk.top(3)
    store_connections(cat, "inceptionv1", replace(conn, dst=chunk.units[conn.dst].astype(np.int32)))
    curve = cat.shown_connections("inceptionv1/mixed3b/330", 3)
    assert curve.kind == "expanded" and len(curve.edges) == 3
    assert curve.note.endswith("; showing expanded weights")
    assert cat.shown_connections("inceptionv1/mixed3b/5", 3).kind == "direct"  # direct still first

    printed = show(db_url, blob_dir, capsys, "inceptionv1/mixed3b/330")
    assert "top inputs (expanded weights, by strength):" in printed
    assert "mixed3b_5x5_bottleneck → mixed3b_5x5" in printed
    assert "pooled: max-pool 3x3/1" in show(db_url, blob_dir, capsys, "inceptionv1/mixed3b/420")
    direct_only = show(db_url, blob_dir, capsys, "inceptionv1/mixed3b/330", "--kind", "direct")
    assert "top inputs (direct weights, by strength):\n    -" in direct_only and "no direct weights" not in direct_only


def test_the_demo_pages_are_unchanged_but_for_the_pooled_label(demo_catalog: Catalog):
    torch.manual_seed(4)
    model = DemoCNN((8, 16, 32, 32, 32)).eval()
    for src, dst in (("conv1", "conv2"), ("conv2", "conv3")):
        store_connections(demo_catalog, "demo", direct_connections(model, src, dst, k=3, input_size=SIZE))
    for address in ("demo/conv2/3", "demo/conv3/5"):
        shown = demo_catalog.shown_connections(address, 3)
        assert shown.kind == "direct"
        assert shown.edges == demo_catalog.top_inputs(address, 3)
    assert demo_catalog.shown_connections("demo/conv2/3", 3).note is None
    assert "are in pooled coordinates" in demo_catalog.shown_connections("demo/conv3/5", 3).note
    outputs = demo_catalog.shown_connections("demo/conv1/0", 3, "out")
    assert (outputs.kind, outputs.note, outputs.pooled) == ("direct", None, {})
