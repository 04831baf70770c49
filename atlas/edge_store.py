"""Storing weight edges in bulk and reading a feature's strongest inputs and outputs.

Edges are computed, not curated: they are written with Core executemany (no ORM objects)
and read back through the ``(dst, kind, rank_in)`` and ``(src, kind, rank_out)`` indexes,
so "top inputs of X" is an index range scan however many edges the catalogue holds.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from atlas.db.models import EDGE_KINDS, Edge
from atlas.errors import InvalidInput
from atlas.lookup import addresses_of, get_feature
from atlas.records import EdgeInfo


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
    """Insert edges; ``resolve`` maps addresses to feature ids the caller already knows."""
    ids = dict(resolve or {})
    for edge in edges:
        if edge.kind not in EDGE_KINDS:
            raise InvalidInput(f"unknown edge kind {edge.kind!r} (one of {', '.join(EDGE_KINDS)})")
        for address in (edge.src, edge.dst):
            if address not in ids:
                ids[address] = get_feature(session, address)[0].id
    rows = [
        {
            "src_feature_id": ids[row.pop("src")],
            "dst_feature_id": ids[row.pop("dst")],
            **row,
        }
        for row in assign_ranks(edges)
    ]
    if rows:
        session.execute(insert(Edge), rows)
    return len(rows)


def top(session: Session, address: str, k: int, kind: str, direction: str) -> list[EdgeInfo]:
    """The k strongest inputs (``direction="in"``) or outputs (``"out"``) of a feature."""
    if kind not in EDGE_KINDS:
        raise InvalidInput(f"unknown edge kind {kind!r} (one of {', '.join(EDGE_KINDS)})")
    if k < 1:
        raise InvalidInput(f"k must be at least 1, got {k}")
    feature, _layer, _model = get_feature(session, address)
    if direction == "in":
        this_end, rank = Edge.dst_feature_id, Edge.rank_in
    else:
        this_end, rank = Edge.src_feature_id, Edge.rank_out
    rows = list(session.scalars(
        select(Edge)
        .where(this_end == feature.id, Edge.kind == kind, rank.is_not(None))
        .order_by(rank)
        .limit(k)
    ))
    names = addresses_of(session, {r.src_feature_id for r in rows} | {r.dst_feature_id for r in rows})
    return [
        EdgeInfo(
            src=names[r.src_feature_id],
            dst=names[r.dst_feature_id],
            kind=r.kind,
            strength=r.strength,
            positive_mass=r.positive_mass,
            negative_mass=r.negative_mass,
            rank=r.rank_in if direction == "in" else r.rank_out,
            kernel_sha256=r.kernel_sha256,
            id=r.id,
        )
        for r in rows
    ]
