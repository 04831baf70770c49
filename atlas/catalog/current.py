"""The current label of a feature is a query, not a copy: its highest version.

One definition for every reader (browsing, search indexing, graph nodes, seeds), so the
meaning of "current" cannot drift between them.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Subquery, and_, exists, func, select
from sqlalchemy.orm import aliased

from atlas.db.models import Label


def current_versions(*where: ColumnElement[bool]) -> Subquery:
    """(feature_id, version) of each feature's current label, for labels matching ``where``."""
    return (
        select(Label.feature_id, func.max(Label.version).label("version"))
        .where(*where).group_by(Label.feature_id).subquery()
    )


def is_current(versions: Subquery) -> ColumnElement[bool]:
    """The join condition that keeps only the label rows named by ``versions``."""
    return and_(versions.c.feature_id == Label.feature_id, versions.c.version == Label.version)


def is_latest() -> ColumnElement[bool]:
    """The same meaning as a filter on ``Label`` rows: no version of the feature's label is
    higher. A reader that outer-joins a few hundred labels to their features takes this
    form: PostgreSQL estimates the grouped join above at one row, and a nested loop
    planned for one row compares every feature with every label (832 x 208 in a layer)."""
    newer = aliased(Label)
    return ~exists().where(newer.feature_id == Label.feature_id, newer.version > Label.version)
