"""Labels: append-only versions per feature; the current label is the highest version.

Concurrency: an edit names the version it was based on (``expected_version``). Writers
of one feature are serialized (row lock on PostgreSQL, BEGIN IMMEDIATE on SQLite), and the
unique (feature, version) index turns any race that slips past into a conflict, so two
curators saving from the same version never lose an update: the second is told which
version is newer.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from atlas.address import FeatureAddress
from atlas.catalog import audit, fulltext
from atlas.catalog.records import LabelInfo
from atlas.catalog.resolve import get_feature, require_role
from atlas.db.models import Label, User
from atlas.errors import InvalidInput, VersionConflict
from atlas.text import check_optional, check_text

# Accepting or rejecting a label is a review decision; a decision on a text made by the
# text's author is a self-review.
from atlas.vocabulary import JUDGING_STATUSES, LABEL_STATUSES, REVIEW_STATUSES

MAX_LABEL_CHARS = 2000
LABEL_FIELDS = ("version", "text", "status", "confidence", "reason", "self_review")


def validate(text: str, status: str, confidence: float | None, reason: str | None = None) -> str:
    """The stripped label text, once text, status, confidence and reason are all valid.
    The one check of a label version: the API, seeds and bundle imports all call it."""
    text = check_text(text if text is not None else "", "label text", max_len=MAX_LABEL_CHARS, strip=True)
    if not text:
        raise InvalidInput("a label needs some text")
    if status not in LABEL_STATUSES:
        raise InvalidInput(f"unknown label status {status!r} (one of {', '.join(LABEL_STATUSES)})")
    if confidence is not None and (
        isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0.0 <= confidence <= 1.0
    ):
        raise InvalidInput(f"confidence must be between 0 and 1, got {confidence!r}")
    check_optional(reason, "reason")
    return text


def current(session: Session, feature_id: int) -> Label | None:
    return session.scalar(
        select(Label).where(Label.feature_id == feature_id).order_by(Label.version.desc()).limit(1)
    )


def info(label: Label, address: str, author: str) -> LabelInfo:
    return LabelInfo(
        address=address,
        version=label.version,
        text=label.text,
        status=label.status,
        confidence=label.confidence,
        author=author,
        created_at=label.created_at,
        reason=label.reason,
        self_review=bool(label.self_review),
    )


def author_name(session: Session, label: Label) -> str:
    return session.get_one(User, label.author_id).name


def check_version(
    session: Session, address: str, latest: Label | None, expected_version: int | None
) -> None:
    latest_version = latest.version if latest else 0
    if expected_version is None or expected_version == latest_version:
        return
    if latest is None:
        raise VersionConflict(
            f"conflict on {address}: you edited version {expected_version}, "
            "but the unit has no label",
            0,
        )
    raise VersionConflict(
        f"conflict on {address}: you edited version {expected_version}, but version "
        f"{latest_version} by {author_name(session, latest)} is newer: {latest.text!r} "
        f"({latest.status})",
        latest_version,
        info(latest, address, author_name(session, latest)),
    )


def append(
    session: Session,
    feature_address: FeatureAddress,
    text: str,
    status: str,
    confidence: float | None,
    author: str,
    expected_version: int | None,
    reason: str | None = None,
) -> LabelInfo:
    """Append a new label version inside the caller's write transaction."""
    address = str(feature_address)
    text = validate(text, status, confidence, reason)
    needed = "reviewer" if status in REVIEW_STATUSES else "curator"
    user = require_role(session, author, needed, f"set a label to {status!r}")
    feature, _layer, _model = get_feature(session, feature_address, for_update=True)
    latest = current(session, feature.id)
    check_version(session, address, latest, expected_version)
    self_review = status in JUDGING_STATUSES and wrote_text(session, feature.id, text, user)
    label = append_version(session, feature.id, address, latest, text, status, confidence, user, reason,
                           self_review)
    return info(label, address, author)


def wrote_text(session: Session, feature_id: int, text: str, user: User) -> bool:
    """Whether ``user`` wrote ``text`` as the feature has it: they authored the latest
    version that changed the text to this (a text new to the feature is theirs). A
    reviewer judging that text is reviewing their own work, which is recorded as such."""
    author_id = user.id
    versions = session.execute(
        select(Label.text, Label.author_id).where(Label.feature_id == feature_id).order_by(Label.version.desc())
    )
    for version_text, version_author in versions:
        if version_text != text:
            break
        author_id = version_author
    return author_id == user.id


def append_version(
    session: Session, feature_id: int, address: str, latest: Label | None, text: str,
    status: str, confidence: float | None, user: User, reason: str | None, self_review: bool = False,
) -> Label:
    """The write itself, for callers that have already checked the user and the version
    (bulk loads resolve thousands of features up front)."""
    label = Label(
        feature_id=feature_id,
        version=(latest.version if latest else 0) + 1,
        text=validate(text, status, confidence, reason),
        status=status,
        confidence=confidence,
        reason=reason,
        author_id=user.id,
        self_review=self_review,
    )
    session.add(label)
    fulltext.sync_label(session, label, address, user.name)
    audit.record(
        session, user.name, "label.set", "feature", address,
        audit.snapshot(latest, LABEL_FIELDS) if latest else None,
        audit.snapshot(label, LABEL_FIELDS),
    )
    return label


def history(session: Session, feature_address: FeatureAddress) -> list[LabelInfo]:
    feature, _layer, _model = get_feature(session, feature_address)
    address = str(feature_address)
    rows = session.execute(
        select(Label, User.name)
        .join(User, Label.author_id == User.id)
        .where(Label.feature_id == feature.id)
        .order_by(Label.version)
    )
    return [info(label, address, name) for label, name in rows]
