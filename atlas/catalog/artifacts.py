"""Artifacts: computed things about a feature (visualizations, examples, tuning curves).

An artifact is identified by (feature, kind, canonical hash of its parameters), so a
recomputation with the same parameters is recognised and skipped, or replaced on demand;
a crashed job that is run again never leaves two copies.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, tuple_
from sqlalchemy.orm import Session

from atlas.db.models import Artifact
from atlas.errors import InvalidInput

MAX_KIND_CHARS = 60


@dataclass(frozen=True)
class ArtifactInfo:
    address: str
    kind: str
    params: dict
    blobs: dict
    job_id: int | None
    created_at: datetime


def params_key(params: dict) -> str:
    """A stable hash of parameters: key order and float formatting do not matter."""
    try:
        canonical = json.dumps(params, sort_keys=True, separators=(",", ":"))
    except TypeError as exc:
        raise InvalidInput(f"artifact parameters must be JSON: {exc}") from None
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_kind(kind: str) -> None:
    if not isinstance(kind, str) or not kind or len(kind) > MAX_KIND_CHARS:
        raise InvalidInput(f"artifact kind must be 1 to {MAX_KIND_CHARS} characters")


@dataclass(frozen=True)
class NewArtifact:
    feature_id: int
    kind: str
    params: dict
    blobs: dict


def put_many(session: Session, new: Sequence[NewArtifact], job_id: int | None = None,
             replace: bool = False) -> int:
    """Store artifacts in a few statements whatever their number (a job's chunk of units
    writes them in its completion transaction); those that exist are skipped, or replaced
    when ``replace``. Returns how many were written."""
    for artifact in new:
        check_kind(artifact.kind)
    rows = {(a.feature_id, a.kind, params_key(a.params)): a for a in new}
    if not rows:
        return 0
    same = tuple_(Artifact.feature_id, Artifact.kind, Artifact.params_key).in_(list(rows))
    keys = select(Artifact.feature_id, Artifact.kind, Artifact.params_key).where(same)
    existing = set(session.execute(keys).tuples())
    if existing and replace:
        session.execute(delete(Artifact).where(same), execution_options={"synchronize_session": False})
    elif existing:
        rows = {key: a for key, a in rows.items() if key not in existing}
    if rows:
        session.execute(insert(Artifact), [
            {"feature_id": a.feature_id, "kind": a.kind, "params": a.params, "params_key": key[2],
             "blobs": a.blobs, "job_id": job_id}
            for key, a in rows.items()
        ])
    return len(rows)


def put(session: Session, feature_id: int, kind: str, params: dict, blobs: dict, job_id: int | None = None,
        replace: bool = False) -> bool:
    """Store one artifact; False (and nothing written) when it exists and not ``replace``."""
    return put_many(session, [NewArtifact(feature_id, kind, params, blobs)], job_id, replace) == 1


def of_feature(session: Session, feature_id: int, address: str, kind: str | None = None) -> list[ArtifactInfo]:
    query = select(Artifact).where(Artifact.feature_id == feature_id).order_by(Artifact.kind, Artifact.id)
    if kind is not None:
        query = query.where(Artifact.kind == kind)
    return [
        ArtifactInfo(address, a.kind, a.params, a.blobs, a.job_id, a.created_at)
        for a in session.scalars(query)
    ]
