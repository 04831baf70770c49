"""Evidence attached to a feature, an edge or a circuit.

Bodies are stored as given (Markdown for notes); rendering them safely is the viewer's
job. What is checked here is what must never be stored: links that are not http(s),
blob references that do not exist, kinds we do not know.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlparse

from sqlalchemy import select
from sqlalchemy.orm import Session

from atlas.catalog import audit, fulltext
from atlas.catalog.records import EvidenceInfo
from atlas.db.blobs import SHA256_RE, BlobStore
from atlas.db.models import Evidence, User
from atlas.errors import InvalidInput
from atlas.text import check_text
from atlas.vocabulary import EVIDENCE_KINDS

MAX_BODY_CHARS = 100_000
EVIDENCE_FIELDS = ("id", "kind", "body", "blobs", "feature_id", "edge_id", "circuit_id")


def check_body(kind: str, body: str) -> str:
    """The stripped body, once the kind is known and the body fits it (a caption is
    checked before its image is stored)."""
    if kind not in EVIDENCE_KINDS:
        raise InvalidInput(f"unknown evidence kind {kind!r} (one of {', '.join(EVIDENCE_KINDS)})")
    # A link is one line: urlparse silently drops tabs and newlines, which would hide them.
    body = check_text(body if body is not None else "", "evidence body", multiline=kind != "link",
                      max_len=MAX_BODY_CHARS, strip=True)
    if kind == "link":
        parsed = urlparse(body)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise InvalidInput(f"a link must be an http or https URL, got {body!r}")
    elif kind == "note" and not body:
        raise InvalidInput("a note needs some text")
    return body


def validate(kind: str, body: str, blobs: list[str], has_blob: Callable[[str], bool]) -> str:
    """The stripped body, once kind, body and blobs are all valid; ``has_blob`` says whether
    a blob is available (in the store, or staged from the bundle being imported). The one
    check of evidence: the API, seeds and bundle imports all call it."""
    body = check_body(kind, body)
    if kind in ("image", "visualization") and not blobs:
        raise InvalidInput(f"{kind} evidence needs at least one stored image")
    if not isinstance(blobs, list) or not all(isinstance(sha, str) and SHA256_RE.match(sha) for sha in blobs):
        raise InvalidInput(f"evidence blobs must be a list of sha256 blob names, got {blobs!r:.200}")
    for sha in blobs:
        if not has_blob(sha):
            raise InvalidInput(f"evidence refers to blob {sha}, which is not in the blob store")
    return body


def add(
    session: Session,
    store: BlobStore,
    target: str,
    target_ids: dict[str, int],
    kind: str,
    body: str,
    blobs: list[str],
    author: User,
) -> Evidence:
    body = validate(kind, body, blobs, store.exists)
    row = Evidence(kind=kind, body=body, blobs=list(blobs), author_id=author.id, **target_ids)
    session.add(row)
    session.flush()
    fulltext.sync_evidence(session, row, target, author.name)
    audit.record(
        session, author.name, "evidence.add", "evidence", str(row.id),
        None, {**audit.snapshot(row, EVIDENCE_FIELDS), "target": target},
    )
    return row


def listed(session: Session, target: str, where: dict[str, int]) -> list[EvidenceInfo]:
    query = select(Evidence, User.name).join(User, Evidence.author_id == User.id)
    for column, value in where.items():
        query = query.where(getattr(Evidence, column) == value)
    rows = session.execute(query.order_by(Evidence.id))
    return [
        EvidenceInfo(e.id, target, e.kind, e.body, list(e.blobs or []), name, e.created_at)
        for e, name in rows
    ]
