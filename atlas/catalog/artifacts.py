"""Artifacts: computed things about a feature (visualizations, examples, tuning curves).

An artifact is identified by (feature, kind, canonical hash of its parameters), so a
recomputation with the same parameters is recognised and skipped, or replaced on demand;
a crashed job that is run again never leaves two copies.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, tuple_
from sqlalchemy.orm import Session

from atlas.db.models import Artifact
from atlas.errors import InvalidInput

MAX_KIND_CHARS = 60
# A visualization is flagged when the feature barely responds to its own optimized image
# (the objective, a pre-activation, stays at or below this: the optimizer found nothing that
# drives it), or when the image is near-flat (pixel standard deviation on [0, 1] below this:
# a grey square is no picture of a feature, whatever the activation).
NO_RESPONSE_VALUE = 0.01
FLAT_IMAGE_CONTRAST = 0.01
# The kinds whose objective is the feature's own activation, so a low value means no response
# (a negative visualization minimizes it; its value is read the other way).
_RESPONSE_KINDS = ("vis.channel", "vis.neuron", "vis.diversity")


def no_response(kind: str, outcome: dict | None) -> str | None:
    """"no response (activation 0.003)" or "flat image (contrast 0.002)" for a failed
    visualization; None when it is fine or when nothing was recorded (older artifacts)."""
    if not outcome:
        return None
    value, contrast = outcome.get("value"), outcome.get("contrast")
    if kind in _RESPONSE_KINDS and isinstance(value, int | float) and value <= NO_RESPONSE_VALUE:
        return f"no response (activation {value:.3g})"
    if kind.startswith("vis.") and isinstance(contrast, int | float) and contrast < FLAT_IMAGE_CONTRAST:
        return f"flat image (contrast {contrast:.3g})"
    return None


@dataclass(frozen=True)
class ArtifactInfo:
    address: str
    kind: str
    params: dict
    blobs: dict
    job_id: int | None
    created_at: datetime
    outcome: dict | None = None

    @property
    def flag(self) -> str | None:
        """Why this result is not a picture of its feature (see ``no_response``), if it is not."""
        return no_response(self.kind, self.outcome)


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


MAX_OUTCOME_FIGURES = 8


def check_outcome(outcome: object) -> None:
    """An outcome is a few named finite numbers (it may come from another lab's bundle)."""
    if outcome is None:
        return
    if (not isinstance(outcome, dict) or len(outcome) > MAX_OUTCOME_FIGURES
            or not all(isinstance(k, str) and 0 < len(k) <= 40 for k in outcome)
            or not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                       for v in outcome.values())):
        raise InvalidInput(f"an artifact's outcome must be at most {MAX_OUTCOME_FIGURES} named finite numbers")


@dataclass(frozen=True)
class NewArtifact:
    feature_id: int
    kind: str
    params: dict
    blobs: dict
    outcome: dict | None = None


def put_many(session: Session, new: Sequence[NewArtifact], job_id: int | None = None,
             replace: bool = False) -> int:
    """Store artifacts in a few statements whatever their number (a job's chunk of units
    writes them in its completion transaction); those that exist are skipped, or replaced
    when ``replace``. Returns how many were written."""
    for artifact in new:
        check_kind(artifact.kind)
        check_outcome(artifact.outcome)
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
             "blobs": a.blobs, "outcome": a.outcome, "job_id": job_id}
            for key, a in rows.items()
        ])
    return len(rows)


def put(session: Session, feature_id: int, kind: str, params: dict, blobs: dict, job_id: int | None = None,
        replace: bool = False, outcome: dict | None = None) -> bool:
    """Store one artifact; False (and nothing written) when it exists and not ``replace``."""
    return put_many(session, [NewArtifact(feature_id, kind, params, blobs, outcome)], job_id, replace) == 1


def of_feature(session: Session, feature_id: int, address: str, kind: str | None = None) -> list[ArtifactInfo]:
    query = select(Artifact).where(Artifact.feature_id == feature_id).order_by(Artifact.kind, Artifact.id)
    if kind is not None:
        query = query.where(Artifact.kind == kind)
    return [
        ArtifactInfo(address, a.kind, a.params, a.blobs, a.job_id, a.created_at, a.outcome)
        for a in session.scalars(query)
    ]
