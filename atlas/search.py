"""Basic search: case-insensitive substring match over current labels, circuits, families
and evidence notes, the same on both dialects.

Every word of the query must appear (AND). The user's text is only ever a bound
parameter with LIKE wildcards escaped, so ``%`` or ``_`` match themselves.
"""

from __future__ import annotations

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from atlas.db.models import Circuit, Evidence, Family, Feature, Label, Layer, Model
from atlas.errors import InvalidInput
from atlas.lookup import addresses_of
from atlas.records import SearchHit

MAX_QUERY_CHARS = 500


def _terms(query: str) -> list[str]:
    query = (query or "").strip()
    if not query:
        raise InvalidInput("empty search query")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidInput(f"search query is longer than {MAX_QUERY_CHARS} characters")
    return [t.lower() for t in query.split()]


def _escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _matches(terms: list[str], *columns) -> object:  # noqa: ANN002
    """Every term appears in at least one of the columns."""
    return and_(
        *(
            or_(*(func.lower(c).like(f"%{_escape(t)}%", escape="\\") for c in columns))
            for t in terms
        )
    )


def current_labels():  # noqa: ANN201
    """A subquery of each feature's highest label version."""
    return (
        select(Label.feature_id, func.max(Label.version).label("version"))
        .group_by(Label.feature_id)
        .subquery()
    )


def search(session: Session, query: str, limit: int = 50, model: str | None = None) -> list[SearchHit]:
    terms = _terms(query)
    latest = current_labels()
    label_query = (
        select(Label.feature_id, Label.text)
        .join(latest, and_(latest.c.feature_id == Label.feature_id, latest.c.version == Label.version))
        .where(_matches(terms, Label.text))
        .order_by(Label.feature_id)
        .limit(limit)
    )
    if model is not None:
        label_query = (
            label_query.join(Feature, Feature.id == Label.feature_id)
            .join(Layer, Layer.id == Feature.layer_id)
            .join(Model, Model.id == Layer.model_id)
            .where(Model.name == model)
        )
    labels = list(session.execute(label_query))
    notes = list(session.execute(
        select(Evidence.feature_id, Evidence.body)
        .where(Evidence.feature_id.is_not(None), _matches(terms, Evidence.body))
        .order_by(Evidence.id)
        .limit(limit)
    ))
    names = addresses_of(session, {fid for fid, _ in labels} | {fid for fid, _ in notes})
    hits = [SearchHit("label", names[fid], text) for fid, text in labels]
    hits += [
        SearchHit("evidence", names[fid], body)
        for fid, body in notes
        if model is None or names[fid].startswith(f"{model}/")
    ]
    if model is None:
        hits += [
            SearchHit("circuit", name, description)
            for name, description in session.execute(
                select(Circuit.name, Circuit.description)
                .where(_matches(terms, Circuit.name, Circuit.description))
                .order_by(Circuit.name)
                .limit(limit)
            )
        ]
        hits += [
            SearchHit("family", name, description)
            for name, description in session.execute(
                select(Family.name, Family.description)
                .where(_matches(terms, Family.name, Family.description))
                .order_by(Family.name)
                .limit(limit)
            )
        ]
    return hits[:limit]
