"""Artifacts: computed things about a feature (visualizations, examples, tuning curves).

An artifact is identified by (feature, kind, canonical hash of its parameters), so a
recomputation with the same parameters is recognised and skipped, or replaced on demand;
a crashed job that is run again never leaves two copies.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
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


def exists(session: Session, feature_id: int, kind: str, params: dict) -> bool:
    return session.scalar(
        select(Artifact.id).where(
            Artifact.feature_id == feature_id,
            Artifact.kind == kind,
            Artifact.params_key == params_key(params),
        )
    ) is not None


def put(
    session: Session,
    feature_id: int,
    kind: str,
    params: dict,
    blobs: dict,
    job_id: int | None = None,
    replace: bool = False,
) -> bool:
    """Store an artifact; False (and nothing written) when it exists and not ``replace``."""
    if not kind or len(kind) > MAX_KIND_CHARS:
        raise InvalidInput(f"artifact kind must be 1 to {MAX_KIND_CHARS} characters")
    key = params_key(params)
    if exists(session, feature_id, kind, params):
        if not replace:
            return False
        session.execute(
            delete(Artifact).where(
                Artifact.feature_id == feature_id, Artifact.kind == kind, Artifact.params_key == key
            )
        )
    session.add(
        Artifact(feature_id=feature_id, kind=kind, params=params, params_key=key, blobs=blobs, job_id=job_id)
    )
    session.flush()
    return True


def of_feature(session: Session, feature_id: int, address: str, kind: str | None = None) -> list[ArtifactInfo]:
    query = select(Artifact).where(Artifact.feature_id == feature_id).order_by(Artifact.kind, Artifact.id)
    if kind is not None:
        query = query.where(Artifact.kind == kind)
    return [
        ArtifactInfo(address, a.kind, a.params, a.blobs, a.job_id, a.created_at)
        for a in session.scalars(query)
    ]
