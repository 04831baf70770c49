"""Bulk loading of edge rows: the fast path for millions of computed connections.

Edges arrive as columns (numpy arrays), never as objects, and go to the database by the
cheapest route each dialect offers, inside the caller's transaction:

- PostgreSQL: binary ``COPY`` from a buffer built by numpy in one pass (no per-row Python).
- SQLite: the driver's ``executemany`` on the raw connection, with a large page cache.
- Small batches (< ``SMALL_LOAD`` rows): SQLAlchemy Core executemany (insertmanyvalues),
  which is as fast at that size and keeps SQLAlchemy's error types.

Maintaining three indexes row by row is what makes a large load slow (random b-tree
inserts), and on PostgreSQL so is the per-row foreign-key trigger. So a load that is large
(``LARGE_LOAD`` rows or more) and at least a quarter of the table's size drops the edge
indexes first and builds them again after the rows are in: one sort per index instead of
a million random inserts. On PostgreSQL the unique constraint and the two foreign keys are
dropped and re-added too (re-adding validates every row in one set-based query). All of
it is transactional DDL: a failed load (a duplicate edge, an unknown feature id) rolls
back to the old indexes and constraints. The price is an exclusive lock on ``edges`` for
the duration of the load, so readers of edges wait for a bulk load of a large table; small
loads take no such lock.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import cast

import numpy as np
from sqlalchemy import (
    ForeignKeyConstraint,
    Table,
    UniqueConstraint,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.orm import Session
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex

from atlas.db.models import Edge
from atlas.errors import InvalidInput
from atlas.vocabulary import EDGE_KINDS

SMALL_LOAD = 2_000
LARGE_LOAD = 100_000
SQLITE_CACHE_KIB = 512 * 1024
PG_SORT_MEMORY = "512MB"
_PGCOPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + np.array([0, 0], ">i4").tobytes()
_PGCOPY_TRAILER = np.array([-1], ">i2").tobytes()


@dataclass
class EdgeColumns:
    """Many edges as columns: feature ids, one kind, strengths, optional masses, ranks and
    kernel blob names (each optional column is given for every row or for none)."""

    src: np.ndarray
    dst: np.ndarray
    kind: str
    strength: np.ndarray
    positive_mass: np.ndarray | None = None
    negative_mass: np.ndarray | None = None
    rank_in: np.ndarray | None = None
    rank_out: np.ndarray | None = None
    kernel_sha256: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.src)

    def columns(self) -> dict[str, np.ndarray]:
        """The given columns by name, converted to the dtypes the loaders write, checked."""
        if self.kind not in EDGE_KINDS:
            raise InvalidInput(f"unknown edge kind {self.kind!r} (one of {', '.join(EDGE_KINDS)})")
        given = {
            "src_feature_id": (self.src, np.int64), "dst_feature_id": (self.dst, np.int64),
            "strength": (self.strength, np.float64),
            "positive_mass": (self.positive_mass, np.float64),
            "negative_mass": (self.negative_mass, np.float64),
            "rank_in": (self.rank_in, np.int32), "rank_out": (self.rank_out, np.int32),
            "kernel_sha256": (self.kernel_sha256, "S64"),
        }
        out = {}
        for name, (values, dtype) in given.items():
            if values is None:
                continue
            array = np.asarray(values).astype(dtype, copy=False)
            if array.shape != (len(self),):
                raise InvalidInput(f"edge column {name} has shape {array.shape}, not ({len(self)},)")
            if array.dtype.kind == "f" and not np.isfinite(array).all():
                raise InvalidInput(f"edge column {name} holds a NaN or infinity")
            if array.dtype.kind == "S" and (np.char.str_len(array) != 64).any():
                raise InvalidInput("a kernel_sha256 is not a 64-character blob name")
            out[name] = array
        return out


def load(session: Session, edges: EdgeColumns) -> int:
    """Insert ``edges`` in the session's transaction; duplicates and unknown feature ids
    raise InvalidInput (and the caller's transaction is to be rolled back)."""
    columns = edges.columns()
    n = len(edges)
    if n == 0:
        return 0
    if n < SMALL_LOAD:
        keys = list(columns)
        insert_rows(session, [dict(zip(keys, values), kind=edges.kind) for values in
                              zip(*(_python(columns[k]) for k in keys))])
        return n
    # In (src, dst) order the unique index (which SQLite keeps during a load) is appended
    # to rather than updated at random pages, and index builds sort presorted rows.
    order = np.lexsort((columns["dst_feature_id"], columns["src_feature_id"]))
    columns = {name: array[order] for name, array in columns.items()}
    dialect = session.get_bind().dialect.name
    rebuild = n >= LARGE_LOAD and n * 4 >= _estimated_rows(session, dialect)
    try:
        if rebuild:
            _drop_indexes(session, dialect)
        if dialect == "postgresql":
            _copy_postgresql(session, columns, edges.kind)
        else:
            _executemany_sqlite(session, columns, edges.kind)
        if rebuild:
            _create_indexes(session, dialect)
    except _integrity_errors(dialect) as exc:
        raise InvalidInput(f"edges already stored or invalid: {exc}") from None
    return n


def _integrity_errors(dialect: str) -> tuple[type[Exception], ...]:
    """The driver's integrity errors (raw-connection paths bypass SQLAlchemy's wrapping);
    psycopg is imported only where PostgreSQL is in use."""
    if dialect == "postgresql":
        import psycopg

        return (psycopg.IntegrityError,)
    return (sqlite3.IntegrityError,)


def insert_rows(session: Session, rows: list[dict]) -> None:
    """Core executemany (insertmanyvalues) of row dicts: the path for small batches."""
    session.execute(insert(Edge), rows)


def _python(array: np.ndarray) -> list:
    return [v.decode() for v in array.tolist()] if array.dtype.kind == "S" else array.tolist()


def _estimated_rows(session: Session, dialect: str) -> int:
    """Rows in ``edges``, estimated cheaply (planner statistics; the largest id)."""
    if dialect == "postgresql":
        estimate = session.scalar(text("SELECT reltuples FROM pg_class WHERE relname = 'edges'"))
        return max(int(estimate or 0), 0)
    return session.execute(select(func.coalesce(func.max(Edge.id), 0))).scalar_one()


def _rebuilt_constraints(dialect: str) -> list:
    """Constraints dropped for a large load (SQLite cannot drop table constraints, and
its foreign-key checks are cheap lookups, not triggers)."""
    if dialect != "postgresql":
        return []
    return [c for c in cast(Table, Edge.__table__).constraints
            if isinstance(c, (UniqueConstraint, ForeignKeyConstraint))]


def _drop_indexes(session: Session, dialect: str) -> None:
    if dialect == "postgresql":
        session.execute(text(f"SET LOCAL maintenance_work_mem = '{PG_SORT_MEMORY}'"))
    for constraint in _rebuilt_constraints(dialect):
        session.execute(DropConstraint(constraint))
    for index in cast(Table, Edge.__table__).indexes:
        session.execute(DropIndex(index))


def _create_indexes(session: Session, dialect: str) -> None:
    for index in cast(Table, Edge.__table__).indexes:
        session.execute(CreateIndex(index))
    for constraint in _rebuilt_constraints(dialect):
        session.execute(AddConstraint(constraint))


def _executemany_sqlite(session: Session, columns: dict[str, np.ndarray], kind: str) -> None:
    raw = session.connection().connection.driver_connection
    names = [*columns, "kind"]
    sql = f"INSERT INTO edges ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    old_cache = raw.execute("PRAGMA cache_size").fetchone()[0]
    raw.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    try:
        lists = [_python(a) for a in columns.values()]
        raw.executemany(sql, zip(*lists, [kind] * len(lists[0])))
    finally:
        raw.execute(f"PRAGMA cache_size = {old_cache}")


_PG_TYPES = {np.dtype(np.int64): ">i8", np.dtype(np.int32): ">i4", np.dtype(np.float64): ">f8"}


def _copy_postgresql(session: Session, columns: dict[str, np.ndarray], kind: str) -> None:
    """Binary COPY: every row has the same layout (same columns, fixed widths), so the
    whole payload is one numpy structured array written out as bytes."""
    names = [*columns, "kind"]
    kind_bytes = kind.encode()
    fields = [("count", ">i2")]
    for name in names:
        width = len(kind_bytes) if name == "kind" else columns[name].dtype.itemsize
        pg_type = f"S{width}" if name in ("kind", "kernel_sha256") else _PG_TYPES[columns[name].dtype]
        fields += [(f"{name}_len", ">i4"), (name, pg_type)]
    rows = np.empty(len(next(iter(columns.values()))), dtype=fields)
    rows["count"] = len(names)
    for name in names:
        rows[f"{name}_len"] = rows.dtype[name].itemsize
        rows[name] = kind_bytes if name == "kind" else columns[name]
    raw = session.connection().connection.driver_connection
    sql = f"COPY edges ({', '.join(names)}) FROM STDIN WITH (FORMAT BINARY)"
    with raw.cursor() as cursor, cursor.copy(sql) as copy:
        copy.write(_PGCOPY_HEADER)
        payload = memoryview(rows.tobytes())
        step = 8 << 20
        for start in range(0, len(payload), step):
            copy.write(payload[start:start + step])
        copy.write(_PGCOPY_TRAILER)
