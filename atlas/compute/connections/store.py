"""Connections into the catalogue: kernels to the blob store, edges to the edge table.

Kernels: one blob per destination unit holding the float16 kernels of all its kept input
edges (``edge_store.kernel_table``, keyed by source channel); every edge into the unit
names that blob. A million edges are then a few thousand blobs, not a million files, and
the kernels a curator looks at together (a unit's inputs) are read in one go.

Storing is idempotent per (source layer, destination layer, kind): edges already there are
kept and nothing is written (but the wiring of direct weights, ``direct_paths``, which is
traced and not curated), unless ``replace`` (which deletes them first, refused if
evidence is attached to any of them).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from atlas.address import LayerAddress
from atlas.catalog import audit, direct_paths, edge_store
from atlas.catalog.edge_store import EdgeColumns
from atlas.catalog.resolve import get_layer, target_ids, unit_ids
from atlas.compute.connections.selection import ConnectionSet
from atlas.db.blobs import BlobStore
from atlas.errors import InvalidInput

if TYPE_CHECKING:
    from atlas.catalog import Catalog

BLOB_THREADS = 8


def put_kernel_blobs(blobs: BlobStore, conn: ConnectionSet, per_source: bool = False) -> np.ndarray | None:
    """One kernel blob per destination unit, keyed by source channel (``per_source``: one
    per source, keyed by destination channel, for a direction's outputs, whose source has
    no channel); the blob name of every edge (``S64``)."""
    if conn.kernels is None:
        return None
    owner, key = (conn.src, conn.dst) if per_source else (conn.dst, conn.src)
    order = np.argsort(owner, kind="stable")
    _, starts = np.unique(owner[order], return_index=True)
    groups = np.split(order, starts[1:])
    with ThreadPoolExecutor(BLOB_THREADS) as pool:
        names = list(pool.map(
            lambda idx: blobs.put_array(edge_store.kernel_table(key[idx], conn.kernels[idx])),
            groups,
        ))
    shas = np.empty(len(conn), dtype="S64")
    for idx, name in zip(groups, names):
        shas[idx] = name.encode()
    return shas


def write_connections(session: Session, model: str, conn: ConnectionSet,
                      kernel_shas: np.ndarray | None, replace: bool = False) -> int:
    """Insert the edges of ``conn`` in the session's transaction (for job writes)."""
    src_layer, _ = get_layer(session, f"{model}/{conn.src_layer}")
    dst_layer, _ = get_layer(session, f"{model}/{conn.dst_layer}")
    src_ids = unit_ids(session, f"{model}/{conn.src_layer}")
    dst_ids = unit_ids(session, f"{model}/{conn.dst_layer}")
    if len(conn) and (conn.src.max() >= len(src_ids) or conn.dst.max() >= len(dst_ids)):
        raise InvalidInput(f"connections {conn.src_layer} -> {conn.dst_layer} do not match "
                           f"the registered layers' channel counts")
    if conn.paths:  # the wiring is traced, not curated: always the latest
        direct_paths.replace(session, src_layer.id, dst_layer.id, conn.paths)
    if edge_store.count_between(session, src_layer.id, dst_layer.id, conn.kind):
        if not replace:
            return 0
        edge_store.delete_between(session, src_layer.id, dst_layer.id, conn.kind)
    columns = EdgeColumns(
        src=src_ids[conn.src], dst=dst_ids[conn.dst], kind=conn.kind, strength=conn.strength,
        positive_mass=conn.positive_mass, negative_mass=conn.negative_mass,
        rank_in=conn.rank_in, rank_out=conn.rank_out, kernel_sha256=kernel_shas,
    )
    try:
        return edge_store.load(session, columns)
    except IntegrityError as exc:
        raise InvalidInput(f"edges already stored or invalid: {exc.orig}") from None


def write_direction_connections(session: Session, model: str, layer: str, side: str, names: list[str],
                                conn: ConnectionSet, kernel_shas: np.ndarray | None, replace: bool = False) -> int:
    """Insert the edges of ``conn``, connections of the directions ``names`` of ``layer``
    (``atlas.compute.connections.directions``: their index in ``names`` is ``dst`` for
    ``side="in"``, ``src`` for ``"out"``), ranked at the direction's end only. A direction
    that already has such edges keeps them unless ``replace``."""
    layer_address = LayerAddress(model, layer)
    targets = target_ids(session, layer_address, [], names)
    direction_ids = np.array([targets[name] for name in names], dtype=np.int64)
    other = conn.src_layer if side == "in" else conn.dst_layer
    other_row, _ = get_layer(session, f"{model}/{other}")
    layer_row, _ = get_layer(session, layer_address)
    unit = unit_ids(session, f"{model}/{other}")
    ends = (conn.src, conn.dst) if side == "in" else (conn.dst, conn.src)
    if len(conn) and (ends[0].max() >= len(unit) or ends[1].max() >= len(names)):
        raise InvalidInput(f"direction connections of {layer_address} do not match {other}'s channels")
    keep = np.ones(len(conn), dtype=bool)
    for index, feature_id in enumerate(direction_ids):
        pair = ((other_row.id, layer_row.id, conn.kind, None, [feature_id]) if side == "in"
                else (layer_row.id, other_row.id, conn.kind, [feature_id], None))
        if edge_store.count_between(session, *pair):
            if replace:
                edge_store.delete_between(session, *pair)
            else:
                keep &= ends[1] != index
    src, dst = (unit[conn.src], direction_ids[conn.dst]) if side == "in" else (direction_ids[conn.src], unit[conn.dst])
    columns = EdgeColumns(
        src=src[keep], dst=dst[keep], kind=conn.kind, strength=conn.strength[keep],
        positive_mass=conn.positive_mass[keep], negative_mass=conn.negative_mass[keep],
        rank_in=conn.rank_in[keep] if side == "in" else None,
        rank_out=conn.rank_out[keep] if side == "out" else None,
        kernel_sha256=None if kernel_shas is None else kernel_shas[keep],
    )
    try:
        return edge_store.load(session, columns) if keep.any() else 0
    except IntegrityError as exc:
        raise InvalidInput(f"edges already stored or invalid: {exc.orig}") from None


def store_connections(catalog: Catalog, model: str, conn: ConnectionSet,
                      replace: bool = False) -> int:
    """Kernels to the blob store, then the edges in one transaction; the number of edges
    inserted (0 when these layers already have edges of this kind and not ``replace``).
    The catalogue's user must be a curator or above (checked before any blob is stored);
    the write is audited with its count."""
    with catalog._reading() as session:
        catalog._computing_actor(session)
    shas = put_kernel_blobs(catalog.blobs, conn)
    with catalog._writing() as session:
        actor = catalog._computing_actor(session)
        added = write_connections(session, model, conn, shas, replace)
        audit.record(session, actor, "edges.load", "edges", f"{model}/{conn.src_layer}->{conn.dst_layer}", None,
                     {"kind": conn.kind, "edges": added, "replace": replace})
        return added
