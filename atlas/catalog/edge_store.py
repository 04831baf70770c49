"""Storing weight edges in bulk and reading a feature's strongest inputs and outputs.

Edges are computed, not curated: they are written as columns through ``atlas.catalog.edge_load``
(COPY on PostgreSQL, raw executemany on SQLite; no ORM objects) and read back through the
``(dst, kind, rank_in)`` and ``(src, kind, rank_out)`` indexes, so "top inputs of X" is an
index range scan however many edges the catalogue holds.

Kernels: one blob per destination unit (see ``atlas.compute.connections.store``) holds the
kernels of all its stored input edges as a structured float16 array keyed by source
channel; every edge into that unit names the blob in ``kernel_sha256``. One blob per edge
would be a million files for a million edges.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import ColumnElement, Select, delete, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from atlas.address import FeatureAddress, feature_address
from atlas.bounds import check_limit
from atlas.catalog.edge_load import SMALL_LOAD, EdgeColumns, insert_rows, load
from atlas.catalog.records import EdgeInfo
from atlas.catalog.resolve import get_feature
from atlas.db.models import Edge, Evidence, Feature, Layer, Model
from atlas.errors import InvalidInput
from atlas.vocabulary import EDGE_KINDS, EDGE_SORTS

__all__ = ["EdgeColumns", "NewEdge", "add", "assign_ranks", "count_between", "delete_between",
           "kernel_from_table", "kernel_table", "load", "net_mass", "top"]


@dataclass(frozen=True)
class NewEdge:
    src: str
    dst: str
    kind: str
    strength: float
    positive_mass: float | None = None
    negative_mass: float | None = None
    kernel_sha256: str | None = None
    rank_in: int | None = None
    rank_out: int | None = None


def check_kind(kind: str) -> None:
    if kind not in EDGE_KINDS:
        raise InvalidInput(f"unknown edge kind {kind!r} (one of {', '.join(EDGE_KINDS)})")


def assign_ranks(edges: list[NewEdge]) -> list[dict]:
    """Row dicts with ranks filled in where the caller gave none: rank 0 is the strongest
    input of its dst (resp. output of its src) among the edges of this batch and kind, by
    magnitude (inhibition is as strong a connection as excitation; ties go to excitation)."""
    rows = [dict(e.__dict__) for e in edges]
    for end, rank in (("dst", "rank_in"), ("src", "rank_out")):
        groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for row in rows:
            groups[(row[end], row["kind"])].append(row)
        for group in groups.values():
            group.sort(key=lambda r: (-abs(r["strength"]), -r["strength"]))
            for position, row in enumerate(group):
                if row[rank] is None:
                    row[rank] = position
    return rows


def add(session: Session, edges: list[NewEdge], resolve: dict[str, int] | None = None) -> int:
    """Insert edges given by address; ``resolve`` maps addresses to feature ids the caller
    already knows. Large batches take the bulk path (every optional field then has to be
    given for all edges of a kind or for none)."""
    ids = dict(resolve or {})
    for edge in edges:
        check_kind(edge.kind)
        for address in (edge.src, edge.dst):
            if address not in ids:
                ids[address] = get_feature(session, address)[0].id
    rows = [
        {"src_feature_id": ids[row.pop("src")], "dst_feature_id": ids[row.pop("dst")], **row}
        for row in assign_ranks(edges)
    ]
    if len(rows) < SMALL_LOAD:
        if rows:
            insert_rows(session, rows)
        return len(rows)
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_kind[row["kind"]].append(row)
    return sum(load(session, _columns(kind, group)) for kind, group in by_kind.items())


def _columns(kind: str, rows: list[dict]) -> EdgeColumns:
    def column(name: str) -> np.ndarray | None:
        values = [r[name] for r in rows]
        missing = sum(v is None for v in values)
        if missing == len(values):
            return None
        if missing:
            raise InvalidInput(f"{name} is given for some {kind} edges of a bulk load but not all")
        return np.asarray(values)

    return EdgeColumns(
        src=column("src_feature_id"), dst=column("dst_feature_id"), kind=kind,
        strength=column("strength"), positive_mass=column("positive_mass"),
        negative_mass=column("negative_mass"), rank_in=column("rank_in"),
        rank_out=column("rank_out"), kernel_sha256=column("kernel_sha256"),
    )


def kernel_table(src_channels: np.ndarray, kernels: np.ndarray) -> np.ndarray:
    """The kernel blob of one destination unit: a float16 kernel per source channel, as a
    structured array (``src``, ``kernel``) that ``np.load`` reads without pickling."""
    kernels = np.asarray(kernels)
    table = np.empty(len(src_channels), dtype=[("src", "<i4"), ("kernel", "<f2", kernels.shape[1:])])
    table["src"], table["kernel"] = src_channels, kernels
    return table


def kernel_from_table(table: np.ndarray, src_channel: int) -> np.ndarray | None:
    """The kernel of the edge from ``src_channel`` in a kernel blob, or None if absent."""
    rows = table[table["src"] == src_channel]
    return rows["kernel"][0] if len(rows) else None


def _features(layer_id: int, feature_ids: Sequence[int] | None) -> Select:
    """The ids of a layer's units, or of the given features (its directions)."""
    query = select(Feature.id).where(Feature.layer_id == layer_id)
    if feature_ids is None:
        return query.where(Feature.kind == "unit")
    return query.where(Feature.id.in_([int(i) for i in feature_ids]))


def _between(src_layer_id: int, dst_layer_id: int, kind: str, src_ids: Sequence[int] | None = None,
             dst_ids: Sequence[int] | None = None) -> tuple[ColumnElement[bool], ...]:
    return (
        Edge.kind == kind,
        Edge.src_feature_id.in_(_features(src_layer_id, src_ids)),
        Edge.dst_feature_id.in_(_features(dst_layer_id, dst_ids)),
    )


def count_between(session: Session, src_layer_id: int, dst_layer_id: int, kind: str,
                  src_ids: Sequence[int] | None = None, dst_ids: Sequence[int] | None = None) -> int:
    """The ``kind`` edges from one layer's units to the next's (or, where ``src_ids`` or
    ``dst_ids`` are given, from or to those features: a layer's directions)."""
    where = _between(src_layer_id, dst_layer_id, kind, src_ids, dst_ids)
    return session.execute(select(func.count(Edge.id)).where(*where)).scalar_one()


def delete_between(session: Session, src_layer_id: int, dst_layer_id: int, kind: str,
                   src_ids: Sequence[int] | None = None, dst_ids: Sequence[int] | None = None) -> int:
    """Delete the ``kind`` edges from one layer's units to the next's, or from or to the
    features ``src_ids`` / ``dst_ids`` (before storing a recomputation). Refused while any
    of them carries evidence: that is curated work, and a cascade would delete it silently."""
    check_kind(kind)
    where = _between(src_layer_id, dst_layer_id, kind, src_ids, dst_ids)
    attached = session.scalar(
        select(func.count(Evidence.id)).where(Evidence.edge_id.in_(select(Edge.id).where(*where)))
    )
    if attached:
        raise InvalidInput(f"{attached} evidence item(s) are attached to these edges; "
                           "move or delete them before recomputing the edges")
    return session.execute(delete(Edge).where(*where)).rowcount


def check_sort(sort: str) -> None:
    if sort not in EDGE_SORTS:
        raise InvalidInput(f"unknown edge order {sort!r} (one of {', '.join(EDGE_SORTS)})")


def net_mass() -> ColumnElement[float]:
    """An edge's net mass in SQL, as ``SignedEdge.net``: positive minus negative mass when
    both are stored (NULL arithmetic gives NULL otherwise), else the strength."""
    return func.coalesce(Edge.positive_mass - func.abs(Edge.negative_mass), Edge.strength)


def top(session: Session, address: FeatureAddress, k: int, kind: str, direction: str,
        sort: str = "strength") -> list[EdgeInfo]:
    """The k strongest inputs (``direction="in"``) or outputs (``"out"``) of a feature:
    one index range scan joined to the other end's address (two round trips in all, with
    resolving ``address``).

    ``sort`` (``EDGE_SORTS``): ``strength`` by rank (norm, or |attribution|); ``net`` by
    signed net mass, most excitatory first and most inhibitory last; ``excitatory`` only
    net > 0, strongest first; ``inhibitory`` only net < 0, most inhibitory first. The
    candidates are a unit's stored edges, which hold its k most excitatory and k most
    inhibitory connections as well as its k strongest (``select_top``), so each order is
    complete up to the k the connections were computed with. ``rank`` stays the rank by
    strength."""
    check_kind(kind)
    check_sort(sort)
    check_limit(k, "k")
    feature, _layer, _model = get_feature(session, address)
    here = str(address)
    if direction == "in":
        this_end, other_end, rank = Edge.dst_feature_id, Edge.src_feature_id, Edge.rank_in
    else:
        this_end, other_end, rank = Edge.src_feature_id, Edge.dst_feature_id, Edge.rank_out
    net = net_mass()
    order: dict[str, tuple[ColumnElement | InstrumentedAttribute, ...]] = {
        "strength": (rank,), "net": (net.desc(), rank), "excitatory": (net.desc(), rank),
        "inhibitory": (net.asc(), rank),
    }
    query = (
        select(Edge.id, Edge.kind, Edge.strength, Edge.positive_mass, Edge.negative_mass, rank,
               Edge.kernel_sha256, Feature.kind, Feature.channel, Feature.name, Layer.name, Model.name)
        .join(Feature, Feature.id == other_end).join(Layer, Layer.id == Feature.layer_id)
        .join(Model, Model.id == Layer.model_id)
        .where(this_end == feature.id, Edge.kind == kind, rank.is_not(None))
        .order_by(*order[sort], Edge.id)
        .limit(k)
    )
    if sort == "excitatory":
        query = query.where(net > 0)
    elif sort == "inhibitory":
        query = query.where(net < 0)
    out = []
    for edge_id, edge_kind, strength, positive, negative, position, kernel, f_kind, channel, name, layer, model in (
            session.execute(query)):
        other = str(feature_address(model, layer, f_kind, channel, name))
        src, dst = (other, here) if direction == "in" else (here, other)
        out.append(EdgeInfo(src=src, dst=dst, kind=edge_kind, strength=strength, positive_mass=positive,
                            negative_mass=negative, rank=position, kernel_sha256=kernel, id=edge_id))
    return out
