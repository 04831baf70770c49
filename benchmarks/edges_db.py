"""Bulk insert of 1,000,000 edges with their indexes, and top-inputs latency, per dialect.

    python -m benchmarks.edges_db [--rows 1000000] [--postgres URL]

Ours: ``Catalog.load_edges`` (``atlas.catalog.edge_load``: COPY on PostgreSQL, raw executemany on
SQLite, index rebuild for a large load). Baseline: the naive loop, one ORM ``Edge`` object
per row added to a session and committed once, on 20,000 rows. Then the p95 latency of
``top_inputs(unit, k=20)`` over random units. PostgreSQL runs when ``--postgres`` or
``ATLAS_TEST_POSTGRES_URL`` names a server on which we may create a scratch database.
Targets: SQLite <= 12 s, PostgreSQL <= 15 s for the load; p95 <= 5 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid

import numpy as np
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from atlas import Catalog
from atlas.catalog.edge_store import EdgeColumns
from atlas.catalog.resolve import unit_ids
from atlas.db.engine import normalize_url
from atlas.db.models import Edge

NAIVE_ROWS = 20_000
QUERIES = 300


def make_catalog(url: str, blobs: str, width: int) -> Catalog:
    cat = Catalog.init(url, blobs, admin="bench")
    layers = [{"name": n, "kind": "conv", "channels": width} for n in ("src", "dst", "naive")]
    cat.add_model("bench", "synthetic", layers=layers)
    return cat


def edge_columns(cat: Catalog, rows: int, src: str, dst: str, seed: int = 0) -> EdgeColumns:
    """``rows`` edges between two layers with random strengths, ranks and kernel names."""
    with cat._reading() as session:
        src_ids = unit_ids(session, f"bench/{src}")
        dst_ids = unit_ids(session, f"bench/{dst}")
    pairs = np.random.default_rng(seed).permutation(len(src_ids) * len(dst_ids))[:rows]
    s, d = np.divmod(pairs, len(dst_ids))
    strength = np.random.default_rng(seed + 1).standard_normal(rows)
    shas = np.array([f"{i:064x}".encode() for i in range(len(dst_ids))], dtype="S64")
    return EdgeColumns(
        src=src_ids[s], dst=dst_ids[d], kind="direct", strength=np.abs(strength),
        positive_mass=np.maximum(strength, 0), negative_mass=np.maximum(-strength, 0),
        rank_in=s.astype(np.int32), rank_out=d.astype(np.int32), kernel_sha256=shas[d],
    )


def naive_insert(cat: Catalog, cols: EdgeColumns) -> float:
    start = time.perf_counter()
    with cat._writing() as session:
        for i in range(len(cols)):
            session.add(Edge(
                src_feature_id=int(cols.src[i]), dst_feature_id=int(cols.dst[i]), kind=cols.kind,
                strength=float(cols.strength[i]), positive_mass=float(cols.positive_mass[i]),
                negative_mass=float(cols.negative_mass[i]), rank_in=int(cols.rank_in[i]),
                rank_out=int(cols.rank_out[i]), kernel_sha256=cols.kernel_sha256[i].decode(),
            ))
    return time.perf_counter() - start


def p95_top_inputs(cat: Catalog, width: int) -> tuple[float, float, float]:
    """(p95, median) wall milliseconds of ``top_inputs`` and the p95 of this process's
    CPU milliseconds per call: on SQLite that is the whole query, and a shared machine's
    load inflates it far less than wall time (on PostgreSQL the server's share is not in it)."""
    rng = np.random.default_rng(2)
    times, cpu = [], []
    for channel in rng.integers(0, width, QUERIES):
        start, start_cpu = time.perf_counter(), time.process_time()
        cat.top_inputs(f"bench/dst/{channel}", k=20, kind="direct")
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return float(np.percentile(times, 95)), statistics.median(times), float(np.percentile(cpu, 95))


def run(dialect: str, url: str, blobs: str, rows: int) -> None:
    width = int(np.ceil(np.sqrt(rows)))
    cat = make_catalog(url, blobs, width)
    try:
        naive_cols = edge_columns(cat, NAIVE_ROWS, "src", "naive")
        naive_s = naive_insert(cat, naive_cols)
        cols = edge_columns(cat, rows, "src", "dst")
        start = time.perf_counter()
        cat.load_edges(cols)
        ours_s = time.perf_counter() - start
        p95, median, cpu_p95 = p95_top_inputs(cat, width)
    finally:
        cat.close()
    naive_rate, ours_rate = NAIVE_ROWS / naive_s, rows / ours_s
    print(f"[{dialect}] bulk load {rows:,} edges with indexes: {ours_s:.2f} s "
          f"({ours_rate:,.0f} rows/s)")
    print(f"[{dialect}] naive ORM loop {NAIVE_ROWS:,} rows: {naive_s:.2f} s "
          f"({naive_rate:,.0f} rows/s); ours/naive throughput = {ours_rate / naive_rate:.1f}x")
    print(f"[{dialect}] top_inputs k=20 over {QUERIES} units: p95 {p95:.2f} ms, "
          f"median {median:.2f} ms; p95 of this process's CPU {cpu_p95:.2f} ms; "
          f"load average {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--postgres", default=os.environ.get("ATLAS_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run("sqlite", f"sqlite:///{tmp}/bench.db", f"{tmp}/blobs", args.rows)
        if not args.postgres:
            print("[postgresql] skipped: pass --postgres URL or set ATLAS_TEST_POSTGRES_URL")
            return
        admin = create_engine(normalize_url(args.postgres), isolation_level="AUTOCOMMIT")
        name = f"atlas_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        try:
            url = make_url(normalize_url(args.postgres)).set(database=name)
            run("postgresql", url.render_as_string(hide_password=False), f"{tmp}/blobs-pg",
                args.rows)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            admin.dispose()


if __name__ == "__main__":
    main()
