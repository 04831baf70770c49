"""Full-text search over the catalogue, one API on two engines.

``search_docs`` holds one text per curated thing and is updated by the catalogue in the
same transaction as the write it reflects. SQLite indexes it with FTS5 (triggers keep the
index in step; ranking by bm25), PostgreSQL with a generated tsvector column under a GIN
index (ranking by ts_rank). User queries are reduced to word tokens before they reach
either engine, so query syntax characters can never break or widen a search; every token
matches as a prefix ("curv" finds "curve" and "curves").

There are no query operators, on purpose: FTS5 and tsquery disagree on what a dangling
``OR``, a leading ``NOT`` or an unclosed quote mean, and reducing the query to words is what
makes both engines return the same hits. PostgreSQL's English configuration leaves common
words out of the index ("the", "or", "not", …); SQLite's porter tokenizer keeps them, so
the same words are dropped from queries here, before either engine sees them
(``SEARCH_SYNTAX`` is the user's version of this).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Select,
    case,
    column,
    delete,
    exists,
    func,
    insert,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.elements import ColumnClause

from atlas.bounds import MAX_INT32, check_int, check_limit
from atlas.catalog.current import current_versions, is_current
from atlas.catalog.records import SearchHit
from atlas.catalog.resolve import addresses_of
from atlas.db.models import (
    Circuit,
    CircuitClaim,
    CircuitNode,
    Evidence,
    Family,
    FamilyMember,
    Feature,
    Label,
    Layer,
    Model,
    SearchDoc,
    User,
)
from atlas.errors import InvalidInput
from atlas.text import check_optional

MAX_TERMS = 16
MAX_QUERY_CHARS = 500
MARK = "**"
FTS_TABLE = table("search_fts", column("rowid"))
SEARCHABLE_EVIDENCE = ("note", "link", "ablation", "weight_edit", "tuning_curve")
MAX_HITS = 1000
# PostgreSQL's english.stop (the stop words of the 'english' text search configuration).
STOP_WORDS = frozenset("""
    i me my myself we our ours ourselves you your yours yourself yourselves he him his
    himself she her hers herself it its itself they them their theirs themselves what which
    who whom this that these those am is are was were be been being have has had having do
    does did doing a an the and but if or because as until while of at by for with about
    against between into through during before after above below to from up down in out on
    off over under again further then once here there when where why how all any both each
    few more most other some such no nor not only own same so than too very s t can will
    just don should now
""".split())
SEARCH_SYNTAX = (
    "Every word must occur in a document, as the start of a word, with the same stem "
    "('curv' and 'curves' find 'curve' and 'curved'). There are no operators: punctuation, "
    "quotes, '-', '*', parentheses and the words AND, OR, NOT are ignored, and so are very "
    "common English words ('the', 'of', 'or', 'not', ...). 'curve OR', 'NOT curve' and "
    "'-curve' all search for 'curve'; a query with nothing else left is refused."
)


@dataclass(frozen=True)
class SearchFilters:
    """Feature filters; any of them set restricts results to features' texts."""

    model: str | None = None
    layer: str | None = None
    status: str | None = None
    family: str | None = None
    author: str | None = None
    has_evidence: bool | None = None

    def __post_init__(self) -> None:
        for name in ("model", "layer", "status", "family", "author"):
            check_optional(getattr(self, name), f"{name} filter")

    def about_features(self) -> bool:
        return any(
            v is not None for v in (self.model, self.layer, self.status, self.family, self.has_evidence)
        )


def terms(query: str) -> list[str]:
    query = (query or "").strip()
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidInput(f"search query is longer than {MAX_QUERY_CHARS} characters")
    # Letters and digits only: both engines split words at '_' as at any punctuation.
    words = [w for w in re.findall(r"[^\W_]+", query.lower()) if w not in STOP_WORDS][:MAX_TERMS]
    if not words:
        raise InvalidInput("empty search query: type a word to look for (punctuation, operators "
                           "and common words such as 'the' or 'not' are ignored)")
    return words


# -- keeping search_docs in sync --------------------------------------------------------


def upsert(
    session: Session, kind: str, ref_id: int, target: str, title: str, body: str = "",
    feature_id: int | None = None, status: str | None = None, author: str | None = None,
) -> None:
    doc = session.scalar(select(SearchDoc).where(SearchDoc.kind == kind, SearchDoc.ref_id == ref_id))
    if doc is None:
        doc = SearchDoc(kind=kind, ref_id=ref_id)
        session.add(doc)
    for name, value in _doc(kind, ref_id, target, title, body, feature_id, status, author).items():
        setattr(doc, name, value)


def label_doc(feature_id: int, address: str, text: str, reason: str | None, status: str, author: str) -> dict:
    """A feature's current label is its one label document (old versions are history)."""
    return _doc("label", feature_id, address, text, reason or "", feature_id, status, author)


def sync_label(session: Session, label: Label, address: str, author: str) -> None:
    upsert(session, **label_doc(label.feature_id, address, label.text, label.reason, label.status, author))


def replace_docs(session: Session, docs: list[dict]) -> None:
    """Write many documents at once (bulk imports), replacing any with the same key."""
    by_kind: dict[str, list[int]] = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], []).append(doc["ref_id"])
    for kind, ref_ids in by_kind.items():
        for start in range(0, len(ref_ids), 500):
            session.execute(delete(SearchDoc).where(SearchDoc.kind == kind,
                                                    SearchDoc.ref_id.in_(ref_ids[start:start + 500])))
    insert_docs(session, docs)


def insert_docs(session: Session, docs: list[dict]) -> None:
    """Write many new documents, 5,000 rows a statement."""
    for start in range(0, len(docs), 5000):
        session.execute(insert(SearchDoc), docs[start:start + 5000])


def sync_evidence(session: Session, row: Evidence, target: str, author: str) -> None:
    if row.kind in SEARCHABLE_EVIDENCE and row.body:
        upsert(session, "evidence", row.id, target, "", row.body, row.feature_id, None, author)


def sync_circuit(session: Session, circuit: Circuit, author: str) -> None:
    upsert(session, "circuit", circuit.id, f"circuit:{circuit.name}", circuit.name.replace("-", " "),
           circuit.description, None, circuit.status, author)


def sync_claim(session: Session, claim: CircuitClaim, circuit_name: str, author: str) -> None:
    upsert(session, "claim", claim.id, f"circuit:{circuit_name}", "", claim.prediction,
           None, claim.status, author)


def sync_family(session: Session, family: Family) -> None:
    upsert(session, "family", family.id, f"family:{family.name}", family.name, family.description)


def reindex(session: Session) -> int:
    """Rebuild every search document from the curated tables in bulk; returns their number."""
    session.execute(delete(SearchDoc))
    authors = dict(session.execute(select(User.id, User.name)).tuples().all())
    latest = current_versions()
    current = session.scalars(
        select(Label).join(latest, is_current(latest))
    ).all()
    evidence = session.scalars(select(Evidence).where(Evidence.kind.in_(SEARCHABLE_EVIDENCE))).all()
    names = addresses_of(session, {l.feature_id for l in current} | {e.feature_id for e in evidence if e.feature_id})
    circuits = {c.id: c for c in session.scalars(select(Circuit))}
    rows = [label_doc(l.feature_id, names[l.feature_id], l.text, l.reason, l.status, authors[l.author_id])
            for l in current]
    for row in evidence:
        if not row.body:
            continue
        target = (names.get(row.feature_id) if row.feature_id is not None else None) or (
            f"circuit:{circuits[row.circuit_id].name}" if row.circuit_id else f"edge:{row.edge_id}"
        )
        rows.append(_doc("evidence", row.id, target, "", row.body, row.feature_id, None, authors[row.author_id]))
    for c in circuits.values():
        rows.append(_doc("circuit", c.id, f"circuit:{c.name}", c.name.replace("-", " "), c.description,
                         None, c.status, authors[c.author_id]))
    for claim in session.scalars(select(CircuitClaim)):
        rows.append(_doc("claim", claim.id, f"circuit:{circuits[claim.circuit_id].name}", "", claim.prediction,
                         None, claim.status, authors[claim.author_id]))
    for family in session.scalars(select(Family)):
        rows.append(_doc("family", family.id, f"family:{family.name}", family.name, family.description,
                         None, None, None))
    insert_docs(session, rows)  # into the emptied table: nothing to replace, no delete per key
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("INSERT INTO search_fts(search_fts) VALUES ('rebuild')"))
    return len(rows)


def _doc(kind: str, ref_id: int, target: str, title: str, body: str, feature_id: int | None,
         status: str | None, author: str | None) -> dict:
    return {"kind": kind, "ref_id": ref_id, "target": target, "title": title, "body": body,
            "feature_id": feature_id, "status": status, "author": author}


# -- querying ---------------------------------------------------------------------------


def _engine_parts(session: Session, words: list[str]):  # noqa: ANN202
    """(match condition, score ordering, snippet, extra FROM) for this dialect."""
    if session.get_bind().dialect.name == "sqlite":
        fts: ColumnClause[Any] = literal_column("search_fts")
        expression = " AND ".join(f'"{w}"*' for w in words)
        return (
            fts.op("MATCH")(expression),
            func.bm25(fts, 2.0, 1.0).asc(),
            func.snippet(fts, -1, MARK, MARK, "…", 16),
            FTS_TABLE,
            FTS_TABLE.c.rowid == SearchDoc.id,
        )
    query = func.to_tsquery(literal_column("'english'::regconfig"), " & ".join(f"{w}:*" for w in words))
    document = SearchDoc.title + " " + SearchDoc.body
    headline = func.ts_headline(
        literal_column("'english'::regconfig"), document, query,
        f"StartSel={MARK}, StopSel={MARK}, MaxWords=24, MinWords=8",
    )
    tsv: ColumnClause[Any] = literal_column("search_docs.tsv")
    return tsv.op("@@")(query), func.ts_rank(tsv, query).desc(), headline, None, None


def _ranking(words: list[str]) -> list[ColumnElement]:
    """What a researcher means first, before the engine's text score: a document whose
    title is the query itself (``curve detector``, hyphens read as spaces); then curated
    standing (accepted labels; then proposed labels, families and circuits; then notes and
    claims; then disputed and rejected labels); within a standing, titles that start with
    the query (``curve detector`` for ``curve``: a kind of it); then units the catalogue
    knows more about (with evidence, or in a circuit); then the shorter such title."""
    title, phrase = func.lower(func.replace(SearchDoc.title, "-", " ")), " ".join(words)
    # The words are letters and digits only (``terms``), so they carry no LIKE wildcards.
    starts = title.like(phrase + " %")
    exact = case((title == phrase, 0), else_=1)
    begins = case((starts, 0), else_=1)
    # Among titles that start with the query, the shortest is closest to it ("curve detector"
    # before "curve-like feature" for "curve"), on both engines: their text scores disagree here.
    closest = case((starts, func.length(title)), else_=0)
    standing = case(
        ((SearchDoc.kind == "label") & (SearchDoc.status == "accepted"), 0),
        ((SearchDoc.kind == "label") & (SearchDoc.status == "proposed") | SearchDoc.kind.in_(("family", "circuit")), 1),
        (SearchDoc.kind.in_(("evidence", "claim")), 2),
        ((SearchDoc.kind == "label") & (SearchDoc.status == "disputed"), 3),
        else_=4,
    )
    known = case((exists().where(Evidence.feature_id == SearchDoc.feature_id)
                  | exists().where(CircuitNode.feature_id == SearchDoc.feature_id), 0), else_=1)
    return [exact, standing, begins, known, closest]


# Ties are broken by content, not by row ids: two catalogues holding the same things (one
# imported from the other's bundle) list them in the same order. Only documents identical
# in all of these (indistinguishable hits) fall back to the id.
CONTENT_ORDER = (SearchDoc.kind, SearchDoc.target, SearchDoc.title, SearchDoc.body)


def _matching(session: Session, words: list[str], filters: SearchFilters) -> tuple[Select, ColumnElement, Any]:
    """(the matching documents, the engine's score ordering, the snippet)."""
    match, order, snippet, fts_table, fts_join = _engine_parts(session, words)
    statement = select(SearchDoc.kind, SearchDoc.target, SearchDoc.title, SearchDoc.body)
    if fts_table is not None:
        statement = statement.select_from(SearchDoc).join(fts_table, fts_join)
    statement = statement.where(match)
    for condition in _filter_conditions(filters):
        statement = statement.where(condition)
    return statement, order, snippet


def search(session: Session, query: str, filters: SearchFilters, limit: int, offset: int) -> list[SearchHit]:
    """A page of hits (``Catalog.search`` holds the defaults)."""
    words = terms(query)
    check_limit(limit, "limit", MAX_HITS)
    check_int(offset, "offset", 0, MAX_INT32)
    statement, order, snippet = _matching(session, words, filters)
    rows = session.execute(statement.add_columns(snippet)
                           .order_by(*_ranking(words), order, *CONTENT_ORDER, SearchDoc.id)
                           .offset(offset).limit(limit))
    return [
        SearchHit(kind, target, (title + "\n" + body).strip() if kind != "label" else title, snip)
        for kind, target, title, body, snip in rows
    ]


def count(session: Session, query: str, filters: SearchFilters) -> int:
    """How many documents match (every page of ``search``)."""
    statement, _order, _snippet = _matching(session, terms(query), filters)
    return session.execute(select(func.count()).select_from(statement.subquery())).scalar_one()


MAX_VOCABULARY = 20_000  # distinct titles read for a suggestion, whatever the catalogue's size


def suggestion(session: Session, query: str) -> str | None:
    """A query in the catalogue's own words for a misspelt one ("curve detecter" -> "curve
    detector"): each word that is no title word is replaced by the closest title word, if
    one is close; None when nothing changes."""
    words = terms(query)
    titles = session.scalars(select(SearchDoc.title).where(SearchDoc.title != "").distinct()
                             .order_by(SearchDoc.title).limit(MAX_VOCABULARY))
    vocabulary = {w for title in titles for w in re.findall(r"[^\W_]+", title.lower()) if len(w) > 1}
    fixed = [w if w in vocabulary else next(iter(difflib.get_close_matches(w, vocabulary, n=1, cutoff=0.75)), w)
             for w in words]
    return " ".join(fixed) if fixed != words else None


def _filter_conditions(filters: SearchFilters) -> list:
    conditions: list[ColumnElement[bool]] = []
    if filters.about_features():
        conditions.append(SearchDoc.feature_id.is_not(None))
    if filters.author is not None:
        conditions.append(SearchDoc.author == filters.author)
    feature_scope = select(Feature.id).join(Layer, Layer.id == Feature.layer_id).join(Model, Model.id == Layer.model_id)
    if filters.model is not None:
        conditions.append(SearchDoc.feature_id.in_(feature_scope.where(Model.name == filters.model)))
    if filters.layer is not None:
        model, _, layer = filters.layer.rpartition("/")
        scoped = feature_scope.where(Layer.name == layer)
        conditions.append(SearchDoc.feature_id.in_(scoped.where(Model.name == model) if model else scoped))
    if filters.status is not None:
        current = SearchDoc.__table__.alias("current_label")
        conditions.append(exists().where(
            current.c.kind == "label", current.c.feature_id == SearchDoc.feature_id,
            current.c.status == filters.status,
        ))
    if filters.family is not None:
        conditions.append(exists().where(
            FamilyMember.feature_id == SearchDoc.feature_id,
            FamilyMember.family_id == Family.id, Family.name == filters.family,
        ))
    if filters.has_evidence is not None:
        has = exists().where(Evidence.feature_id == SearchDoc.feature_id)
        conditions.append(has if filters.has_evidence else ~has)
    return conditions
