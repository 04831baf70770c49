"""How each slice of a layer is wired to the layer before (``DirectPath`` rows), stored
with a layer pair's direct edges and read to say why a unit has no direct weights or
which kernels are in pooled coordinates."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import Session, aliased

from atlas.catalog.records import DirectPathInfo
from atlas.db.models import DirectPath, Layer


def replace(session: Session, src_layer_id: int, dst_layer_id: int, paths: Sequence[DirectPathInfo]) -> None:
    """The wiring of a layer pair, replacing what was stored for it."""
    session.execute(delete(DirectPath).where(DirectPath.src_layer_id == src_layer_id,
                                             DirectPath.dst_layer_id == dst_layer_id))
    session.add_all(DirectPath(src_layer_id=src_layer_id, dst_layer_id=dst_layer_id, dst_start=p.dst_start,
                               dst_count=p.dst_count, src_start=p.src_start, src_count=p.src_count,
                               kind=p.kind, conv=p.conv, route=p.route) for p in paths)


def _read(session: Session, where: ColumnElement[bool]) -> list[DirectPathInfo]:
    src, dst = aliased(Layer), aliased(Layer)
    rows = session.execute(
        select(src.name, dst.name, DirectPath.dst_start, DirectPath.dst_count, DirectPath.src_start,
               DirectPath.src_count, DirectPath.kind, DirectPath.conv, DirectPath.route)
        .join(src, src.id == DirectPath.src_layer_id).join(dst, dst.id == DirectPath.dst_layer_id)
        .where(where).order_by(DirectPath.dst_start, DirectPath.src_start)
    )
    return [DirectPathInfo(*row) for row in rows]


def into(session: Session, layer_id: int, channel: int | None = None) -> list[DirectPathInfo]:
    """The wiring of a layer from every layer before it (of one channel, if given)."""
    paths = _read(session, DirectPath.dst_layer_id == layer_id)
    return paths if channel is None else [p for p in paths if p.covers(channel)]


def out_of(session: Session, layer_id: int) -> list[DirectPathInfo]:
    """The wiring of every layer a layer's direct weights lead to."""
    return _read(session, DirectPath.src_layer_id == layer_id)
