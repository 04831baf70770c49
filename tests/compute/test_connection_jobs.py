"""Connections through the job queue: a layer pair in chunk jobs of destination units and a
ranking job that waits for them, giving exactly the edges of computing the pair at once."""

from __future__ import annotations

import numpy as np
import pytest

from atlas import Catalog
from atlas.compute.connections import (
    ConnectionSet,
    attribution_connections,
    direct_connections,
    expanded_connections,
    pair_chunk,
    rank_chunks,
    store_chunk,
)
from atlas.compute.datasets.spec import open_dataset, parse_dataset
from atlas.compute.demo_atlas import register_demo_models
from atlas.compute.registration import load_registered
from atlas.compute.run import run_jobs
from atlas.db.blobs import BlobStore
from atlas.errors import InvalidInput, NotFound
from atlas.jobs import JobQueue
from atlas.jobs.runtime import enqueue_connections
from atlas.vocabulary import CONNECTION_KINDS

K = 4


@pytest.fixture
def demo(catalog: Catalog) -> Catalog:
    register_demo_models(catalog)
    return catalog


def stored(catalog: Catalog, model: str, src: str, dst: str, kind: str) -> dict[tuple[int, int], tuple]:
    """(src, dst) channel -> (rank_in, rank_out, strength, kernel) of the stored edges."""
    dst_channels = catalog.layer(f"{model}/{dst}").channels
    edges: dict[tuple[int, int], tuple] = {}
    for d in range(dst_channels):
        for edge in catalog.top_inputs(f"{model}/{dst}/{d}", k=10_000, kind=kind):
            s = int(edge.src.rsplit("/", 1)[1])
            kernel = catalog.edge_kernel(edge) if edge.kernel_sha256 else None
            edges[(s, d)] = [edge.rank, None, edge.strength, kernel]
    for s in range(catalog.layer(f"{model}/{src}").channels):
        for edge in catalog.top_outputs(f"{model}/{src}/{s}", k=10_000, kind=kind):
            edges[(s, int(edge.dst.rsplit("/", 1)[1]))][1] = edge.rank
    return {key: tuple(value) for key, value in edges.items()}


def expected(conn: ConnectionSet) -> dict[tuple[int, int], tuple]:
    return {(int(s), int(d)): (int(ri), int(ro), float(w), None if conn.kernels is None else conn.kernels[i])
            for i, (s, d, ri, ro, w) in enumerate(zip(conn.src, conn.dst, conn.rank_in, conn.rank_out,
                                                      conn.strength))}


def assert_same_edges(got: dict, want: dict, kernels: bool = True) -> None:
    assert got.keys() == want.keys()
    for key, (rank_in, rank_out, strength, kernel) in want.items():
        g_in, g_out, g_strength, g_kernel = got[key]
        assert (g_in, g_out) == (rank_in, rank_out), key
        assert g_strength == pytest.approx(strength, rel=1e-5, abs=1e-7)
        if kernels and kernel is not None:
            np.testing.assert_array_equal(g_kernel, kernel)


@pytest.mark.parametrize("kind, src, dst", [("direct", "conv2", "conv3"), ("expanded", "conv1", "conv3"),
                                            ("attribution", "conv2", "conv3")])
def test_chunked_pair_equals_the_pair_computed_at_once(demo: Catalog, kind: str, src: str, dst: str):
    dataset = parse_dataset("synthetic:6", demo.model("demo").input_size) if kind == "attribution" else None
    ids = enqueue_connections(demo, "demo", src, dst, kind, K, chunk_size=10, dataset=dataset)
    queue = JobQueue(demo.engine)
    chunks, rank = queue.get_many(ids[:-1]), queue.get(ids[-1])
    assert [len(job.params["units"]) for job in chunks] == [10, 10, 10, 10, 8]  # conv3 has 48 units
    assert rank.kind == "connections.rank" and rank.status == "waiting"
    assert [job_id for job_id, _ in queue.dependencies(rank.id)] == ids[:-1]
    assert enqueue_connections(demo, "demo", src, dst, kind, K, chunk_size=10, dataset=dataset) == ids
    jobs = run_jobs(demo, ids, CONNECTION_KINDS, "cpu", progress=quiet)
    assert all(job.status == "done" for job in jobs) and jobs[-1].result["chunks"] == 5

    model = load_registered(demo, "demo", "cpu")
    if kind == "direct":
        whole = direct_connections(model, src, dst, K, input_size=64)
    elif kind == "expanded":
        whole = expanded_connections(model, src, dst, K, input_size=64)
    else:
        whole = attribution_connections(model, src, dst, open_dataset(dataset), K)
    assert jobs[-1].result["edges"] == len(whole)
    assert_same_edges(stored(demo, "demo", src, dst, kind), expected(whole))


def test_rank_chunks_refuses_chunks_that_miss_or_repeat_units(tmp_path):
    import torch

    from atlas.compute.models.demo_cnn import DemoCNN

    torch.manual_seed(0)
    model = DemoCNN(widths=(4, 6, 8, 8, 8)).eval()
    blobs = BlobStore(str(tmp_path / "blobs"))
    first = store_chunk(blobs, pair_chunk(model, "direct", "conv1", "conv2", [0, 1, 2], 32), K)
    rest = store_chunk(blobs, pair_chunk(model, "direct", "conv1", "conv2", [3, 4, 5], 32), K)
    conn, shas = rank_chunks(blobs, "conv1", "conv2", "direct", K, 6, [rest, first])
    whole = direct_connections(model, "conv1", "conv2", K, input_size=32)
    assert_same_edges(expected(conn), expected(whole), kernels=False)
    assert len(shas) == len(conn) and all(shas)
    with pytest.raises(InvalidInput, match=r"miss units \[3, 4, 5\]"):
        rank_chunks(blobs, "conv1", "conv2", "direct", K, 6, [first])
    with pytest.raises(InvalidInput, match="overlap"):
        rank_chunks(blobs, "conv1", "conv2", "direct", K, 6, [first, rest, first])
    images = open_dataset(parse_dataset("synthetic:2", 32))
    for kind in ("direct", "expanded", "attribution"):
        with pytest.raises(InvalidInput, match="units outside conv2"):
            pair_chunk(model, kind, "conv1", "conv2", [6], 32, images)


def test_enqueue_connections_checks_its_input(demo: Catalog):
    with pytest.raises(NotFound):
        enqueue_connections(demo, "demo", "nope", "conv3", "direct")
    with pytest.raises(NotFound):
        enqueue_connections(demo, "demo", "conv2", "nope", "direct")
    with pytest.raises(InvalidInput, match="need a dataset"):
        enqueue_connections(demo, "demo", "conv2", "conv3", "attribution")
    with pytest.raises(InvalidInput, match="k must be"):
        enqueue_connections(demo, "demo", "conv2", "conv3", "direct", k=0)
    with pytest.raises(InvalidInput, match="connections go forwards"):
        enqueue_connections(demo, "demo", "conv3", "conv2", "direct")
    with pytest.raises(InvalidInput, match="unknown connection kind 'weights'"):
        enqueue_connections(demo, "demo", "conv2", "conv3", "weights")
    assert JobQueue(demo.engine).recent() == []


class quiet:
    def __init__(self, **_: object) -> None:
        self.n = 0

    def __enter__(self) -> quiet:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def set_postfix_str(self, *_: object, **__: object) -> None:
        pass

    def refresh(self) -> None:
        pass
