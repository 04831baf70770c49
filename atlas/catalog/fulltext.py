"""The full-text index: one document per curated thing, kept in step with the catalogue.

``search_docs`` holds one text per curated thing (a feature's current label, a note, a
circuit, a claim, a family) and is updated by the catalogue in the same transaction as the
write it reflects, with the query-independent keys of the ranking (``atlas.catalog.search``):
standing, known, the title as words, the lengths. SQLite indexes the text with FTS5
(triggers keep the index in step), PostgreSQL with a generated tsvector column under a GIN
index. User queries are reduced to word tokens before they reach either engine, so query
syntax characters can never break or widen a search; every token matches as a prefix
("curv" finds "curve" and "curves").

There are no query operators, on purpose: FTS5 and tsquery disagree on what a dangling
``OR``, a leading ``NOT`` or an unclosed quote mean, and reducing the query to words is what
makes both engines return the same hits. PostgreSQL's English configuration leaves common
words out of the index ("the", "or", "not", …); SQLite's porter tokenizer keeps them, so
the same words are dropped from queries here, before either engine sees them
(``SEARCH_SYNTAX`` is the user's version of this).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import CompoundSelect, case, delete, insert, select, text, union, update
from sqlalchemy.orm import Session

from atlas.catalog.current import current_versions, is_current
from atlas.catalog.resolve import addresses_of
from atlas.db.models import Circuit, CircuitClaim, CircuitNode, Evidence, Family, Label, SearchDoc, User
from atlas.errors import InvalidInput

MAX_TERMS = 16
MAX_QUERY_CHARS = 500
MARK = "**"
SEARCHABLE_EVIDENCE = ("note", "link", "ablation", "weight_edit", "tuning_curve")
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


# Curated standing, the ranking's first key after a whole-title match: accepted labels;
# proposed labels, families and circuits; notes and claims; disputed labels; the rest.
STANDINGS = (0, 1, 2, 3, 4)
LABEL_STANDING = {"accepted": 0, "proposed": 1, "disputed": 3}
KIND_STANDING = {"family": 1, "circuit": 1, "evidence": 2, "claim": 2}


def standing(kind: str, status: str | None) -> int:
    if kind == "label":
        return LABEL_STANDING.get(status or "", 4)
    return KIND_STANDING.get(kind, 4)


def words_of(text: str) -> list[str]:
    """A text's words as a query reads them: letters and digits (both engines split words at
    '_' as at any punctuation), lower case, without the common words."""
    return [w for w in re.findall(r"[^\W_]+", text.lower()) if w not in STOP_WORDS]


def terms(query: str) -> list[str]:
    query = (query or "").strip()
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidInput(f"search query is longer than {MAX_QUERY_CHARS} characters")
    words = words_of(query)[:MAX_TERMS]
    if not words:
        raise InvalidInput("empty search query: type a word to look for (punctuation, operators "
                           "and common words such as 'the' or 'not' are ignored)")
    return words


# -- keeping search_docs in sync --------------------------------------------------------


def upsert(session: Session, doc: dict) -> None:
    """Write one document (from ``_doc``), replacing the one with the same kind and ref_id."""
    row = session.scalar(select(SearchDoc).where(SearchDoc.kind == doc["kind"], SearchDoc.ref_id == doc["ref_id"]))
    if row is None:
        row = SearchDoc()
        session.add(row)
    for name, value in doc.items():
        setattr(row, name, value)
    if doc["feature_id"] is not None:
        refresh_known(session, [doc["feature_id"]])


def label_doc(feature_id: int, address: str, text: str, reason: str | None, status: str, author: str) -> dict:
    """A feature's current label is its one label document (old versions are history)."""
    return _doc("label", feature_id, address, text, reason or "", feature_id, status, author)


def sync_label(session: Session, label: Label, address: str, author: str) -> None:
    upsert(session, label_doc(label.feature_id, address, label.text, label.reason, label.status, author))


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
    refresh_known(session, {doc["feature_id"] for doc in docs if doc["feature_id"] is not None})


def insert_docs(session: Session, docs: list[dict]) -> None:
    """Write many new documents, 5,000 rows a statement (``known`` as given, or 1)."""
    for start in range(0, len(docs), 5000):
        session.execute(insert(SearchDoc), docs[start:start + 5000])


def sync_evidence(session: Session, row: Evidence, target: str, author: str) -> None:
    """Index a note's text; any evidence makes its feature one the catalogue knows more about."""
    if row.kind in SEARCHABLE_EVIDENCE and row.body:
        upsert(session, _doc("evidence", row.id, target, "", row.body, row.feature_id, None, author))
    elif row.feature_id is not None:
        refresh_known(session, [row.feature_id])


def studied_features() -> CompoundSelect:
    """The features with evidence or in a circuit: the catalogue knows more about them."""
    return union(select(Evidence.feature_id).where(Evidence.feature_id.is_not(None)), select(CircuitNode.feature_id))


def refresh_known(session: Session, feature_ids: Iterable[int]) -> None:
    """Recompute ``known`` for these features' documents, after their evidence or circuit
    membership changed (it ranks them first within their standing)."""
    session.flush()  # the rows just added count, and the documents just written are there
    ids = sorted(set(feature_ids))
    known = case((SearchDoc.feature_id.in_(studied_features()), 0), else_=1)
    for start in range(0, len(ids), 500):
        session.execute(update(SearchDoc).where(SearchDoc.feature_id.in_(ids[start:start + 500]))
                        .values(known=known).execution_options(synchronize_session=False))


def sync_circuit(session: Session, circuit: Circuit, author: str) -> None:
    upsert(session, _doc("circuit", circuit.id, f"circuit:{circuit.name}", circuit.name.replace("-", " "),
                         circuit.description, None, circuit.status, author))


def sync_claim(session: Session, claim: CircuitClaim, circuit_name: str, author: str) -> None:
    upsert(session, _doc("claim", claim.id, f"circuit:{circuit_name}", "", claim.prediction,
                         None, claim.status, author))


def sync_family(session: Session, family: Family) -> None:
    upsert(session, _doc("family", family.id, f"family:{family.name}", family.name, family.description,
                         None, None, None))


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
    studied: set[int] = set(session.scalars(studied_features()))
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
    for doc in rows:
        doc["known"] = 0 if doc["feature_id"] in studied else 1
    insert_docs(session, rows)  # into the emptied table: nothing to replace, no delete per key
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("INSERT INTO search_fts(search_fts) VALUES ('rebuild')"))
    else:
        # Fresh statistics for the rewritten table: search reads the planner's estimate of
        # a query's matches to choose how to read its bands (atlas.catalog.search), and
        # statistics from before the rebuild can be off by orders of magnitude.
        session.execute(text("ANALYZE search_docs"))
    return len(rows)


def _doc(kind: str, ref_id: int, target: str, title: str, body: str, feature_id: int | None,
         status: str | None, author: str | None) -> dict:
    """A document with its stored ranking keys (``known`` is its feature's: set apart)."""
    return {"kind": kind, "ref_id": ref_id, "target": target, "title": title, "body": body,
            "feature_id": feature_id, "status": status, "author": author, **rank_keys(kind, status, title, body)}


def rank_keys(kind: str, status: str | None, title: str, body: str) -> dict:
    """A document's stored ranking keys but ``known``: its standing, its title as words, and
    the lengths of title and body in words (as text scores count them: a title of fewer
    words is closer to a query it matches)."""
    title_words = words_of(title)
    return {"standing": standing(kind, status), "title_key": " ".join(title_words),
            "title_words": len(title_words), "body_words": len(words_of(body))}
