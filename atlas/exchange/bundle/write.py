"""Exporting the catalogue (or some of its models) as a bundle.

Records refer to each other by natural keys (addresses, names), never by database ids,
and are sorted by those keys, so a bundle means the same thing in any catalogue. Authors
are qualified with the catalogue's origin (``cora`` of lab-b is ``cora@lab-b``), so their
work keeps its provenance wherever it is imported. Nothing of the exporting machine goes
out: a model's ``source`` (a weights path) is left out and folder paths in artifact
parameters are cut to the folder's name.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session

from atlas.catalog import relations
from atlas.catalog.resolve import addresses_of
from atlas.db.blobs import BlobStore, blob_names
from atlas.db.models import (
    Artifact,
    Circuit,
    CircuitClaim,
    CircuitEdge,
    CircuitNode,
    Edge,
    Evidence,
    Family,
    FamilyMember,
    Feature,
    Label,
    Layer,
    Model,
    Relation,
    Setting,
    User,
)
from atlas.errors import InvalidInput, NotFound
from atlas.exchange.bundle.format import TABLES, check_origin, jsonl, table_member, write_zip

# The settings key naming this catalogue in the bundles it exports.
CATALOGUE_NAME = "catalogue_name"
# An absolute path on any machine: /x, ~/x, C:\x or C:/x, \\server\share.
ABSOLUTE_PATH = re.compile(r"^(/|~|[A-Za-z]:[\\/]|\\\\)")


def stamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def catalogue_origin(session: Session) -> str:
    """This catalogue's name as the origin of its bundles: the ``catalogue_name`` setting,
    else a short id that stays the same for the catalogue's life (a hash of its first
    user), so exports stay deterministic without writing anything."""
    named = session.scalar(select(Setting.value).where(Setting.key == CATALOGUE_NAME))
    if named is not None:
        return check_origin(named)
    first = session.execute(select(User.name, User.created_at).order_by(User.id).limit(1)).first()
    seed = f"{first[0]}|{stamp(first[1])}" if first else ""
    return "atlas-" + hashlib.sha256(seed.encode()).hexdigest()[:10]


def qualified(name: str, origin: str) -> str:
    """A user name as it travels in a bundle: with a domain (its origin unless it has one)."""
    return name if "@" in name else f"{name}@{origin}"


def _without_paths(value: object) -> object:
    """Artifact parameters with every absolute path cut to its last component (a dataset
    folder is still recognisable by its name; where it lay on this machine is nobody's
    business and means nothing elsewhere)."""
    if isinstance(value, str) and ABSOLUTE_PATH.match(value):
        return re.split(r"[\\/]", value.rstrip("/\\"))[-1]
    if isinstance(value, dict):
        return {k: _without_paths(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_paths(v) for v in value]
    return value


def _features(session: Session, model_ids: set[int]) -> dict[int, str]:
    ids = set(session.scalars(
        select(Feature.id).join(Layer, Layer.id == Feature.layer_id).where(Layer.model_id.in_(model_ids))
    ))
    return addresses_of(session, ids)


def _of_models(query, feature_column, model_ids: set[int]):  # noqa: ANN001, ANN202
    """Rows whose feature belongs to one of the models: a join, not a list of ids (a
    catalogue can hold more features than a statement can take parameters)."""
    return (query.join(Feature, Feature.id == feature_column).join(Layer, Layer.id == Feature.layer_id)
            .where(Layer.model_id.in_(model_ids)))


def collect(
    session: Session, models: list[str] | None = None, origin: str | None = None
) -> tuple[dict[str, list[dict]], set[str]]:
    """Every table's records and the blobs they reference; an unknown model is NotFound."""
    query = select(Model).order_by(Model.name)
    if models:
        query = query.where(Model.name.in_(models))
    model_rows = list(session.scalars(query))
    unknown = sorted(set(models or ()) - {m.name for m in model_rows})
    if unknown:
        known = ", ".join(session.scalars(select(Model.name).order_by(Model.name))) or "none"
        raise NotFound(f"unknown model {unknown[0]!r} (known: {known})")
    model_ids = {m.id for m in model_rows}
    names = _features(session, model_ids)
    origin = origin or catalogue_origin(session)
    users = {uid: qualified(name, origin) for uid, name in session.execute(select(User.id, User.name))}
    blobs: set[str] = set()
    out: dict[str, list[dict]] = {t: [] for t in TABLES}
    out["models"] = [
        {"name": m.name, "architecture": m.architecture, "weights_sha256": m.weights_sha256,
         "input_spec": m.input_spec}
        for m in model_rows
    ]
    model_names = {m.id: m.name for m in model_rows}
    for layer in session.scalars(select(Layer).where(Layer.model_id.in_(model_ids))):
        out["layers"].append({"model": model_names[layer.model_id], "name": layer.name, "kind": layer.kind,
                              "channels": layer.channels, "spatial_shape": layer.spatial_shape, "order": layer.order})
    directions = (select(Feature).join(Layer, Layer.id == Feature.layer_id)
                  .where(Layer.model_id.in_(model_ids), Feature.kind == "direction"))
    for feature in session.scalars(directions):
        out["directions"].append({"address": names[feature.id], "vector_sha256": feature.vector_sha256})
        blobs.add(feature.vector_sha256)
    for label in session.scalars(_of_models(select(Label), Label.feature_id, model_ids)):
        out["labels"].append({"address": names[label.feature_id], "version": label.version, "text": label.text,
                              "status": label.status, "confidence": label.confidence, "reason": label.reason,
                              "author": users[label.author_id], "created_at": stamp(label.created_at)})
    edges = {}
    for edge in session.scalars(_of_models(select(Edge), Edge.dst_feature_id, model_ids)):
        if edge.src_feature_id not in names:
            continue
        edges[edge.id] = f"{names[edge.src_feature_id]}->{names[edge.dst_feature_id]}:{edge.kind}"
        out["edges"].append({"src": names[edge.src_feature_id], "dst": names[edge.dst_feature_id], "kind": edge.kind,
                             "strength": edge.strength, "positive_mass": edge.positive_mass,
                             "negative_mass": edge.negative_mass, "rank_in": edge.rank_in,
                             "rank_out": edge.rank_out, "kernel_sha256": edge.kernel_sha256})
        if edge.kernel_sha256:
            blobs.add(edge.kernel_sha256)
    for artifact in session.scalars(_of_models(select(Artifact), Artifact.feature_id, model_ids)):
        out["artifacts"].append({"address": names[artifact.feature_id], "kind": artifact.kind,
                                 "params": _without_paths(artifact.params), "blobs": artifact.blobs,
                                 "outcome": artifact.outcome})
        blobs |= blob_names(artifact.blobs)
    _circuits(session, out, names, users, blobs)
    _evidence(session, out, names, edges, users, blobs)
    for family in session.scalars(select(Family)):
        members = [
            [names[fid], note]
            for fid, note in session.execute(
                select(FamilyMember.feature_id, FamilyMember.note).where(FamilyMember.family_id == family.id))
            if fid in names
        ]
        if members or not models:
            out["families"].append({"name": family.name, "description": family.description, "members": sorted(members)})
    _relations(session, out, model_ids, blobs)
    for table, rows in out.items():
        rows.sort(key=_sort_key(table))
    return out, blobs


def _circuits(session: Session, out: dict, names: dict, users: dict, blobs: set) -> None:
    for circuit in session.scalars(select(Circuit)):
        nodes = session.execute(select(CircuitNode.feature_id, CircuitNode.role)
                                .where(CircuitNode.circuit_id == circuit.id)).all()
        if any(fid not in names for fid, _ in nodes):
            continue  # a circuit over a model that is not exported
        edges = session.execute(select(CircuitEdge.src_feature_id, CircuitEdge.dst_feature_id, CircuitEdge.note,
                                       CircuitEdge.sign)
                                .where(CircuitEdge.circuit_id == circuit.id)).all()
        claims = session.scalars(select(CircuitClaim).where(CircuitClaim.circuit_id == circuit.id))
        out["circuits"].append({
            "name": circuit.name, "description": circuit.description, "status": circuit.status,
            "author": users[circuit.author_id], "created_at": stamp(circuit.created_at),
            "nodes": sorted([names[f], role] for f, role in nodes),
            "edges": sorted([names[s], names[d], note, sign] for s, d, note, sign in edges),
            "claims": sorted(
                ({"prediction": c.prediction, "experiment": c.experiment, "status": c.status, "result": c.result,
                  "author": users[c.author_id], "created_at": stamp(c.created_at)} for c in claims),
                key=lambda c: (c["created_at"], c["prediction"]),
            ),
        })


def _evidence(session: Session, out: dict, names: dict, edges: dict, users: dict, blobs: set) -> None:
    circuit_names = {c["name"] for c in out["circuits"]}
    circuits = dict(session.execute(select(Circuit.id, Circuit.name)).tuples().all())
    for row in session.scalars(select(Evidence)):
        if row.feature_id is not None:
            target = names.get(row.feature_id)
        elif row.circuit_id is not None:
            target = f"circuit:{circuits[row.circuit_id]}" if circuits[row.circuit_id] in circuit_names else None
        else:
            target = f"edge:{edges[row.edge_id]}" if row.edge_id in edges else None
        if target is None:
            continue
        out["evidence"].append({"target": target, "kind": row.kind, "body": row.body, "blobs": list(row.blobs or []),
                                "author": users[row.author_id], "created_at": stamp(row.created_at)})
        blobs |= set(row.blobs or [])


def _relations(session: Session, out: dict, model_ids: set[int], blobs: set) -> None:
    """The relations whose two ends are both in the bundle (features and layers of its
    models, its families), by address or name. The job that measured one is left out (an
    id of this catalogue's queue)."""
    family_names = {f["name"] for f in out["families"]}
    layer_ids = select(Layer.id).where(Layer.model_id.in_(model_ids))
    in_models = select(Relation).where(Relation.src_layer_id.in_(layer_ids), Relation.dst_layer_id.in_(layer_ids))
    stored = list(session.scalars(in_models)) + list(session.scalars(
        select(Relation).where(Relation.src_family_id.is_not(None))))
    for info in relations.infos(session, stored):
        if info.ends == "families" and not {info.src, info.dst} <= family_names:
            continue
        out["relations"].append({"relation": info.relation, "method": info.method, "ends": info.ends,
                                 "src": info.src, "dst": info.dst, "score": info.score, "source": info.source,
                                 "stimuli": _without_paths(info.stimuli), "details": _without_paths(info.details)})
        blobs |= relations.detail_blobs(info.details)


def _sort_key(table: str):  # noqa: ANN202
    keys = {
        "models": ("name",), "layers": ("model", "order", "name"), "directions": ("address",),
        "labels": ("address", "version"), "edges": ("src", "dst", "kind"),
        "artifacts": ("address", "kind"), "circuits": ("name",), "families": ("name",),
        "evidence": ("target", "created_at", "kind", "body"), "relations": ("ends", "relation", "method", "src", "dst"),
    }[table]
    return lambda row: tuple((row[k] is None, row[k] if row[k] is not None else 0) for k in keys) + (
        json.dumps(row, sort_keys=True),
    )


def write_bundle(
    session: Session, store: BlobStore, target: IO[bytes] | str, models: list[str] | None = None,
    origin: str | None = None,
) -> dict[str, int]:
    """Write the bundle to a file object or a path. A path is written whole or not at all
    (a temporary file beside it, renamed at the end): an unknown model, a missing blob or
    a full disk leaves no file behind."""
    origin = check_origin(origin) if origin is not None else catalogue_origin(session)
    tables, blobs = collect(session, models, origin)
    members = {table_member(t): jsonl(rows) for t, rows in tables.items()}
    members.update({f"blobs/{sha}": store.get_bytes(sha) for sha in sorted(blobs)})
    if isinstance(target, str):
        _write_file(Path(target), members, origin)
    else:
        write_zip(target, members, origin=origin)
    return {**{t: len(rows) for t, rows in tables.items()}, "blobs": len(blobs)}


def _write_file(path: Path, members: dict[str, bytes], origin: str) -> None:
    part = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        with open(part, "xb") as handle:
            write_zip(handle, members, origin=origin)
        os.replace(part, path)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise InvalidInput(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        part.unlink(missing_ok=True)
        raise
