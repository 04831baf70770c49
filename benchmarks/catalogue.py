"""Catalogue queries at scale, on SQLite and PostgreSQL, each against a naive baseline.

1. Full-text search over 100,000 labels: p95 of ``Catalog.search`` (target <= 50 ms)
   against a LIKE scan over the current labels (the obvious implementation without an index).
2. 2-hop neighbourhood with 20 per node over 1,000,000 edges: p95 of
   ``Catalog.neighbourhood`` (target <= 100 ms) against a per-node loop of top_inputs /
   top_outputs calls (N+1 queries).
3. A bundle of 10,000 features with blobs: export, import into an empty catalogue,
   re-export, and check the two bundles are byte-identical.

    python -m benchmarks.catalogue [--labels 100000] [--edges 1000000] [--bundle 10000] [--dialects sqlite,postgresql]

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
from contextlib import contextmanager
from datetime import UTC, datetime
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


def bench_search(cat: Catalog, n_labels: int, rng: random.Random) -> dict:
    cat.add_user("bench", "admin")
    layers, channels = 100, n_labels // 100
    model_with_units(cat, "big", layers, channels)
    ids = feature_ids(cat, "big")
    now = datetime.now(UTC)
    with cat._writing() as session:
        author = session.scalar(select(User.id).where(User.name == "bench"))
        rows = [
            {"feature_id": fid, "version": 1, "status": rng.choice(("proposed", "accepted", "disputed")),
             "text": " ".join(rng.sample(WORDS, 3)) + f" detector {rng.randint(0, 359)}",
             "confidence": None, "reason": None, "author_id": author, "created_at": now}
            for fid in ids.values()
        ]
        for start in range(0, len(rows), 10_000):
            session.execute(insert(Label), rows[start:start + 10_000])
    started = time.perf_counter()
    docs = cat.reindex()
    reindex_s = time.perf_counter() - started
    queries = [" ".join(rng.sample(WORDS, rng.choice((1, 2)))) for _ in range(150)]
    queries += [w[: max(3, len(w) - 2)] for w in rng.sample(WORDS, 40)]  # prefixes
    ours = []
    for query in queries:
        t0 = time.perf_counter()
        cat.search(query, limit=20)
        ours.append((time.perf_counter() - t0) * 1000)
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
    return {"labels": len(rows), "docs": docs, "reindex_s": reindex_s, "p50_ms": percentile(ours, 50),
            "p95_ms": percentile(ours, 95), "naive_p95_ms": percentile(naive, 95)}


def bench_neighbourhood(cat: Catalog, n_edges: int, rng: random.Random) -> dict:
    """Five layers of 2,000 units; each unit of layers 1-4 gets n/8000 inputs from the
    layer before, ranked by strength (rank_in) and among each source's outputs (rank_out)."""
    layers, channels = 5, 2000
    cat.add_user("bench", "admin")
    model_with_units(cat, "graph", layers, channels)
    ids = feature_ids(cat, "graph")
    per_dst = n_edges // ((layers - 1) * channels)
    src, dst, strength = [], [], []
    np_rng = np.random.default_rng(0)
    for layer in range(1, layers):
        for channel in range(channels):
            sources = np_rng.choice(channels, per_dst, replace=False)
            src += [ids[(layer - 1, int(s))] for s in sources]
            dst += [ids[(layer, channel)]] * per_dst
            strength.append(np_rng.normal(size=per_dst))
    src_a, dst_a = np.asarray(src, dtype=np.int64), np.asarray(dst, dtype=np.int64)
    strength_a = np.concatenate(strength).astype(np.float64)
    rank_in = np.tile(np.arange(per_dst), len(src_a) // per_dst)
    order_in = np.lexsort((-np.abs(strength_a), dst_a))
    ranked_in = np.empty_like(rank_in)
    ranked_in[order_in] = rank_in
    order_out = np.lexsort((-np.abs(strength_a), src_a))
    _, first = np.unique(src_a[order_out], return_index=True)
    position = np.arange(len(src_a)) - np.repeat(first, np.diff(np.append(first, len(src_a))))
    ranked_out = np.empty_like(position)
    ranked_out[order_out] = position
    columns = EdgeColumns(src=src_a, dst=dst_a, kind="direct", strength=strength_a,
                          positive_mass=np.abs(strength_a), negative_mass=np.zeros_like(strength_a),
                          rank_in=ranked_in, rank_out=ranked_out, kernel_sha256=None)
    started = time.perf_counter()
    with cat._writing() as session:
        load(session, columns)
    load_s = time.perf_counter() - started
    centres = [f"graph/l{rng.randint(1, 3)}/{rng.randrange(channels)}" for _ in range(60)]
    ours = []
    for centre in centres:
        t0 = time.perf_counter()
        cat.neighbourhood(centre, hops=2, k_per_node=20)
        ours.append((time.perf_counter() - t0) * 1000)
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
    return {"edges": len(src_a), "load_s": load_s, "p50_ms": percentile(ours, 50), "p95_ms": percentile(ours, 95),
            "naive_p95_ms": percentile(naive, 95)}


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", type=int, default=100_000)
    parser.add_argument("--edges", type=int, default=1_000_000)
    parser.add_argument("--bundle", type=int, default=10_000)
    parser.add_argument("--dialects", default="sqlite,postgresql")
    args = parser.parse_args()
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for dialect in args.dialects.split(","):
            with fresh_catalogue(dialect, root) as cat:
                r = bench_search(cat, args.labels, rng)
            print(f"[{dialect}] search over {r['labels']:,} labels "
                  f"({r['docs']:,} docs, reindex {r['reindex_s']:.1f} s): "
                  f"p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms (target <= 50); naive LIKE scan p95 "
                  f"{r['naive_p95_ms']:.1f} ms; ratio {r['naive_p95_ms'] / r['p95_ms']:.1f}x")
            with fresh_catalogue(dialect, root) as cat:
                r = bench_neighbourhood(cat, args.edges, rng)
            print(f"[{dialect}] 2-hop neighbourhood, 20 per node, over {r['edges']:,} edges "
                  f"(loaded in {r['load_s']:.1f} s): "
                  f"p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms (target <= 100); per-node top_inputs loop p95 "
                  f"{r['naive_p95_ms']:.1f} ms; ratio {r['naive_p95_ms'] / r['p95_ms']:.1f}x")
            with fresh_catalogue(dialect, root) as cat, fresh_catalogue(dialect, root) as other:
                r = bench_bundle(cat, other, args.bundle, rng)
            print(f"[{dialect}] bundle of {r['features']:,} features, {r['blobs']:,} blobs, {r['bytes'] / 1e6:.1f} MB: "
                  f"export {r['export_s']:.1f} s, import into empty {r['import_s']:.1f} s, "
                  f"re-export byte-identical: {r['identical']}")


if __name__ == "__main__":
    main()
