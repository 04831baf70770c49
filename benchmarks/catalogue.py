"""Catalogue queries at scale, on SQLite and PostgreSQL, each against a naive baseline.

1. Full-text search over 100,000 labels: p95 of ``Catalog.search`` (target <= 50 ms)
   against a LIKE scan over the current labels (the obvious implementation without an index).
2. 2-hop neighbourhood with 20 per node over 1,000,000 edges: p95 of
   ``Catalog.neighbourhood`` (target <= 100 ms) against a per-node loop of top_inputs /
   top_outputs calls (N+1 queries).
3. A bundle of 10,000 features with blobs: export, import into an empty catalogue,
   re-export, and check the two bundles are byte-identical.

    python -m benchmarks.catalogue [--labels 100000] [--edges 1000000] [--bundle 10000]
        [--dialects sqlite,postgresql] [--parts search,neighbourhood,bundle]

``--parts`` runs some of the three (at ten times the scale, the bundle, which is what one
lab exports, is left out). Each line ends with the load average when it was printed: the
machine may be shared.

PostgreSQL: $ATLAS_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test),
on which throwaway databases are created and dropped.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import random
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

from atlas import Catalog
from atlas.catalog.edge_store import EdgeColumns, load
from atlas.db import migrate
from atlas.db.engine import normalize_url
from atlas.db.models import Feature, Label, Layer, Model, User

WORDS = ("curve edge line circle texture fur eye head dog car wheel window boundary frequency colour "
         "contrast gradient corner angle spiral loop grid hatch stripe blob shape left right oriented "
         "shallow deep bright dark red green blue yellow diagonal vertical horizontal").split()

GRAPH_LAYERS, GRAPH_CHANNELS = 5, 2000


def load_average() -> str:
    """The 1-minute load average, to print beside each figure."""
    return f"{os.getloadavg()[0]:.1f}"


def timed(calls: list[Callable[[], object]]) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds of each call. The CPU time is this process's: on SQLite
    the whole query, which a shared machine's load inflates far less than wall time; on
    PostgreSQL only the client's share."""
    wall, cpu = [], []
    for call in calls:
        start, start_cpu = time.perf_counter(), time.process_time()
        call()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return wall, cpu


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


@contextmanager
def fresh_catalogue(dialect: str, root: Path):
    if dialect == "sqlite":
        url = f"sqlite:///{root}/{uuid.uuid4().hex[:6]}.db"
        migrate.upgrade(url)
        cat = Catalog.open(url, str(root / f"blobs-{uuid.uuid4().hex[:6]}"), user="bench")
        yield cat
        cat.close()
        return
    admin_url = normalize_url(os.environ.get("ATLAS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"atlas_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        migrate.upgrade(url)
        cat = Catalog.open(url, str(root / f"blobs-{name}"), user="bench")
        yield cat
        cat.close()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def model_with_units(cat: Catalog, name: str, layers: int, channels: int) -> None:
    cat.add_model(name, "bench",
                  layers=[{"name": f"l{i}", "kind": "conv", "channels": channels} for i in range(layers)])


def feature_ids(cat: Catalog, model: str) -> dict[tuple[int, int], int]:
    with cat._reading() as session:
        rows = session.execute(
            select(Layer.order, Feature.channel, Feature.id).join(Layer, Layer.id == Feature.layer_id)
            .join(Model, Model.id == Layer.model_id).where(Model.name == model))
        return {(order, channel): fid for order, channel, fid in rows}


def add_labels(cat: Catalog, n_labels: int, rng: random.Random, model: str = "big") -> int:
    """A model of 100 layers with one current label on each of its ``n_labels`` units, three
    random words and a number each, inserted in bulk (10,000 rows a statement)."""
    model_with_units(cat, model, 100, n_labels // 100)
    ids = feature_ids(cat, model)
    now = datetime.now(UTC)
    statuses = ("proposed", "accepted", "disputed")
    with cat._writing() as session:
        author = session.scalar(select(User.id).where(User.name == "bench"))
        batch: list[dict] = []
        for fid in ids.values():
            batch.append({"feature_id": fid, "version": 1, "status": rng.choice(statuses),
                          "text": " ".join(rng.sample(WORDS, 3)) + f" detector {rng.randint(0, 359)}",
                          "confidence": None, "reason": None, "author_id": author, "created_at": now})
            if len(batch) == 10_000:
                session.execute(insert(Label), batch)
                batch = []
        if batch:
            session.execute(insert(Label), batch)
    return len(ids)


def bench_search(cat: Catalog, n_labels: int, rng: random.Random) -> dict:
    cat.add_user("bench", "admin")
    labels = add_labels(cat, n_labels, rng)
    started = time.perf_counter()
    docs = cat.reindex()
    reindex_s = time.perf_counter() - started
    queries = [" ".join(rng.sample(WORDS, rng.choice((1, 2)))) for _ in range(150)]
    queries += [w[: max(3, len(w) - 2)] for w in rng.sample(WORDS, 40)]  # prefixes
    ours, cpu = timed([partial(cat.search, query, limit=20) for query in queries])
    naive = []
    for query in queries[:40]:
        t0 = time.perf_counter()
        with cat._reading() as session:
            latest = select(Label.feature_id, func.max(Label.version).label("v")).group_by(Label.feature_id).subquery()
            statement = select(Label.feature_id, Label.text).join(
                latest, (latest.c.feature_id == Label.feature_id) & (latest.c.v == Label.version))
            for word in query.split():
                statement = statement.where(func.lower(Label.text).like(f"%{word}%"))
            session.execute(statement.limit(20)).all()
        naive.append((time.perf_counter() - t0) * 1000)
    return {"labels": labels, "docs": docs, "reindex_s": reindex_s, "p50_ms": percentile(ours, 50),
            "p95_ms": percentile(ours, 95), "cpu_p95_ms": percentile(cpu, 95),
            "naive_p95_ms": percentile(naive, 95)}


def add_edges(cat: Catalog, n_edges: int, model: str = "graph") -> tuple[int, float]:
    """A model of five layers of 2,000 units; each unit of layers 1-4 gets n/8000 inputs
    from the layer before, ranked by strength (rank_in) and among each source's outputs
    (rank_out), all drawn as numpy columns and stored through the bulk ``load``.
    Returns (edges, seconds the load took)."""
    layers, channels = GRAPH_LAYERS, GRAPH_CHANNELS
    model_with_units(cat, model, layers, channels)
    ids = feature_ids(cat, model)
    unit = np.array([[ids[(layer, c)] for c in range(channels)] for layer in range(layers)], dtype=np.int64)
    per_dst = n_edges // ((layers - 1) * channels)
    np_rng = np.random.default_rng(0)
    src_parts, dst_parts = [], []
    for layer in range(1, layers):
        # per_dst distinct sources for every destination: the first per_dst of a random order.
        sources = np.argsort(np_rng.random((channels, channels)), axis=1)[:, :per_dst]
        src_parts.append(unit[layer - 1][sources].ravel())
        dst_parts.append(np.repeat(unit[layer], per_dst))
    src_a, dst_a = np.concatenate(src_parts), np.concatenate(dst_parts)
    strength_a = np_rng.normal(size=len(src_a))
    columns = EdgeColumns(src=src_a, dst=dst_a, kind="direct", strength=strength_a,
                          positive_mass=np.abs(strength_a), negative_mass=np.zeros_like(strength_a),
                          rank_in=_ranks(dst_a, strength_a), rank_out=_ranks(src_a, strength_a),
                          kernel_sha256=None)
    started = time.perf_counter()
    with cat._writing() as session:
        load(session, columns)
    return len(src_a), time.perf_counter() - started


def _ranks(end: np.ndarray, strength: np.ndarray) -> np.ndarray:
    """Each edge's rank by |strength| among the edges sharing its ``end`` (0: strongest)."""
    order = np.lexsort((-np.abs(strength), end))
    _, first, counts = np.unique(end[order], return_index=True, return_counts=True)
    ranks = np.empty(len(end), dtype=np.int64)
    ranks[order] = np.arange(len(end)) - np.repeat(first, counts)
    return ranks


def bench_neighbourhood(cat: Catalog, n_edges: int, rng: random.Random) -> dict:
    """2-hop walks from random units of the middle layers of ``add_edges``'s model."""
    cat.add_user("bench", "admin")
    edges, load_s = add_edges(cat, n_edges)
    channels = GRAPH_CHANNELS
    centres = [f"graph/l{rng.randint(1, 3)}/{rng.randrange(channels)}" for _ in range(60)]
    ours, cpu = timed([partial(cat.neighbourhood, centre, hops=2, k_per_node=20) for centre in centres])
    naive = []
    for centre in centres[:10]:
        t0 = time.perf_counter()
        frontier, seen = {centre}, {centre}
        for _ in range(2):
            reached = set()
            for node in frontier:
                reached |= {e.src for e in cat.top_inputs(node, 20)} | {e.dst for e in cat.top_outputs(node, 20)}
            frontier = reached - seen
            seen |= reached
        naive.append((time.perf_counter() - t0) * 1000)
    return {"edges": edges, "load_s": load_s, "p50_ms": percentile(ours, 50), "p95_ms": percentile(ours, 95),
            "cpu_p95_ms": percentile(cpu, 95), "naive_p95_ms": percentile(naive, 95)}


def bench_bundle(cat: Catalog, other: Catalog, n_features: int, rng: random.Random) -> dict:
    cat.add_user("bench", "admin")
    other.add_user("bench", "admin")
    channels = 1000
    model_with_units(cat, "bundled", n_features // channels, channels)
    ids = feature_ids(cat, "bundled")
    now = datetime.now(UTC)
    np_rng = np.random.default_rng(1)
    with cat._writing() as session:
        author = session.scalar(select(User.id).where(User.name == "bench"))
        session.execute(insert(Label), [
            {"feature_id": fid, "version": 1, "status": "proposed", "text": " ".join(rng.sample(WORDS, 3)),
             "confidence": 0.5, "reason": None, "author_id": author, "created_at": now} for fid in ids.values()])
    for (layer, channel) in ids:
        image = np_rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)
        cat.add_artifact(f"bundled/l{layer}/{channel}", "vis.channel", {"steps": 1},
                         {"image": cat.blobs.put_png(image)})
    cat.reindex()
    t0 = time.perf_counter()
    first = io.BytesIO()
    counts = cat.export_bundle(first, origin="bench")
    export_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    other.import_bundle(io.BytesIO(first.getvalue()))
    import_s = time.perf_counter() - t0
    second = io.BytesIO()
    other.export_bundle(second, origin="bench")  # same origin: same bytes
    return {"features": len(ids), "blobs": counts["blobs"], "bytes": len(first.getvalue()), "export_s": export_s,
            "import_s": import_s, "identical": first.getvalue() == second.getvalue()}


def latencies(r: dict, target_ms: int, baseline: str) -> str:
    """The latency part of a result line: ours, the target, our CPU, the baseline and the ratio."""
    return (f"p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms (target <= {target_ms}; "
            f"CPU p95 {r['cpu_p95_ms']:.1f} ms); {baseline} p95 {r['naive_p95_ms']:.1f} ms; "
            f"ratio {r['naive_p95_ms'] / r['p95_ms']:.1f}x; load {load_average()}")


def _search(dialect: str, root: Path, labels: int) -> None:
    with fresh_catalogue(dialect, root) as cat:
        r = bench_search(cat, labels, random.Random(0))
    print(f"[{dialect}] search over {r['labels']:,} labels "
          f"({r['docs']:,} docs, reindex {r['reindex_s']:.1f} s): "
          + latencies(r, 50, "naive LIKE scan"))


def _neighbourhood(dialect: str, root: Path, edges: int) -> None:
    with fresh_catalogue(dialect, root) as cat:
        r = bench_neighbourhood(cat, edges, random.Random(1))
    print(f"[{dialect}] 2-hop neighbourhood, 20 per node, over {r['edges']:,} edges "
          f"(loaded in {r['load_s']:.1f} s): "
          + latencies(r, 100, "per-node top_inputs loop"))


def _bundle(dialect: str, root: Path, features: int) -> None:
    with fresh_catalogue(dialect, root) as cat, fresh_catalogue(dialect, root) as other:
        r = bench_bundle(cat, other, features, random.Random(2))
    print(f"[{dialect}] bundle of {r['features']:,} features, {r['blobs']:,} blobs, {r['bytes'] / 1e6:.1f} MB: "
          f"export {r['export_s']:.1f} s, import into empty {r['import_s']:.1f} s, "
          f"re-export byte-identical: {r['identical']}")



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", type=int, default=100_000)
    parser.add_argument("--edges", type=int, default=1_000_000)
    parser.add_argument("--bundle", type=int, default=10_000)
    parser.add_argument("--dialects", default="sqlite,postgresql")
    parser.add_argument("--parts", default="search,neighbourhood,bundle")
    args = parser.parse_args()
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load average {load_average()}")
    parts = args.parts.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for dialect in args.dialects.split(","):
            # Each part draws from its own seeded generator, so one part run alone is the
            # same workload as in a run of all three.
            if "search" in parts:
                _search(dialect, root, args.labels)
            if "neighbourhood" in parts:
                _neighbourhood(dialect, root, args.edges)
            if "bundle" in parts:
                _bundle(dialect, root, args.bundle)

if __name__ == "__main__":
    main()
