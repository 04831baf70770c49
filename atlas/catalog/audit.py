"""The audit log: every write of curated data records who, what, before and after.

Entries are written in the same transaction as the change they describe, so the log can
never claim a change that did not happen nor miss one that did.

When an admin acts for another user (``Catalog._author``), the write is the other user's
but its entries name the admin as ``user_name`` and the other user as ``on_behalf_of``.
The act is marked on the session once, so the many modules that record entries (labels,
circuits, families, evidence, seeds, bundle imports) need not pass it along.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from atlas.db.models import AuditEntry, utcnow

ACTING_FOR = "atlas_acting_for"  # session.info key: (admin, user) while an admin acts for a user


def snapshot(row: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    """A JSON-safe dict of some columns of a row, for the before/after of an entry."""
    out: dict[str, Any] = {}
    for name in fields:
        value = getattr(row, name)
        out[name] = value.isoformat() if isinstance(value, datetime) else value
    return out


def entry(
    user: str,
    action: str,
    entity_type: str,
    entity_id: str,
    before: dict | None = None,
    after: dict | None = None,
) -> dict:
    return {"user_name": user, "on_behalf_of": None, "action": action, "entity_type": entity_type,
            "entity_id": str(entity_id), "before": before, "after": after, "created_at": utcnow()}


def act_for(session: Session, admin: str, user: str) -> None:
    """Mark this transaction as ``admin`` acting for ``user`` (checked by the caller)."""
    session.info[ACTING_FOR] = (admin, user)


def _attributed(session: Session, values: dict) -> dict:
    """An entry of ``user``'s write, naming the admin who made it for them, if one did."""
    admin, user = session.info.get(ACTING_FOR, (None, None))
    if admin is None or values["user_name"] != user:
        return values
    return {**values, "user_name": admin, "on_behalf_of": user}


def record(
    session: Session,
    user: str,
    action: str,
    entity_type: str,
    entity_id: str,
    before: dict | None = None,
    after: dict | None = None,
) -> None:
    session.add(AuditEntry(**_attributed(session, entry(user, action, entity_type, entity_id, before, after))))


def record_many(session: Session, entries: list[dict]) -> None:
    """Audit entries of a bulk write (an import), inserted together."""
    if entries:
        session.execute(insert(AuditEntry), [_attributed(session, values) for values in entries])


def entries(
    session: Session, entity_type: str | None = None, entity_id: str | None = None, limit: int = 50
) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if entity_type is not None:
        query = query.where(AuditEntry.entity_type == entity_type)
    if entity_id is not None:
        query = query.where(AuditEntry.entity_id == str(entity_id))
    return list(session.scalars(query))
