"""Querying the full-text index: a page of hits, ranked in bands that are read in index order.

What a researcher means comes first. The hits fall in bands, in this order:

1. the whole title: the title, read as words, is the query (``Curve-detector`` for
   "curve detector": case, punctuation and common words aside);
2. then by curated standing (accepted labels; proposed labels, families and circuits;
   notes and claims; disputed labels; rejected labels), and within a standing:
   a. titles that start with the query (``curve detector`` for "curve": a kind of it);
   b. the rest, units the catalogue knows more about first (with evidence, or in a
      circuit), and among those a match in the title before a match in the body only.

Within a band: units the catalogue knows more about first (where a band holds both), then
a title of fewer words, then a body of fewer words (the title of fewest words that starts
with the query is the closest to it; text scores normalise by length in words too); ties
are broken by content (kind, target, title, body), so two catalogues holding the same
things list them in the same order, and only identical documents fall back to their row
id.

Why bands. A common word matches tens of thousands of documents in a catalogue of a
million labels, and ranking every match before cutting the first page took 0.2-0.3 s.
Every key but the band is stored with the document and indexed in rank order
(``ix_search_docs_rank``, ``ix_search_docs_title_key``), so when matches are plentiful each
band is read in that order and reading stops when the page is full. When they are few,
all of them are read at once and sorted by band and keys: the same order, by the same
definitions (``_bands``), cheaper for a rare word than walking every band.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, case, column, exists, func, literal_column, select, table
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnClause

from atlas.bounds import MAX_INT32, check_int, check_limit
from atlas.catalog.fulltext import MARK, STANDINGS, terms, words_of
from atlas.catalog.records import SearchHit
from atlas.db.models import Evidence, Family, FamilyMember, Feature, Layer, Model, SearchDoc
from atlas.text import check_optional

MAX_HITS = 1000
FTS_TABLE = table("search_fts", column("rowid"))
# Read the bands one by one when more documents than this match the query (the text
# index's count on SQLite, the planner's estimate on PostgreSQL); sort them all at once
# otherwise. Near the point where one costs what the other does on a million labels.
FEW_MATCHES = 2000
# The ranking keys after the band, in order: the first six are ix_search_docs_rank.
RANK_ORDER = (SearchDoc.standing, SearchDoc.known, SearchDoc.title_words, SearchDoc.body_words, SearchDoc.kind,
              SearchDoc.target, SearchDoc.title, SearchDoc.body, SearchDoc.id)


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


@dataclass(frozen=True)
class Band:
    """One band of the ranking: which documents (on stored keys and the query as words), and
    where in them the query must match: anywhere (``all``), in the title (``title``), or in
    the body and not the title (``body``)."""

    where: ColumnElement[bool]
    part: str


# -- the engines: where the query matches, how many match, the snippets ----------------


class _Engine:
    """What differs between SQLite (FTS5) and PostgreSQL (tsvector): the match conditions
    of a band's part, the number of matches, and the snippets of a page."""

    def __init__(self, session: Session, words: list[str]) -> None:
        self.session, self.words = session, words

    def matches(self, part: str, walk: bool) -> ColumnElement[bool]:
        """Where the query matches the ``part`` of a document. ``walk``: a band read in index
        order probes it row by row, and it must not become the way its rows are found."""
        raise NotImplementedError

    def beginning(self, standing: int, begins: ColumnElement[bool]) -> ColumnElement[bool]:
        """The band of titles of this standing that start with the query."""
        return (SearchDoc.standing == standing) & begins

    def matching_count(self) -> int:
        raise NotImplementedError

    def snippets(self, ids: list[int]) -> dict[int, str]:
        raise NotImplementedError


class _SQLite(_Engine):
    """FTS5: the query as word prefixes, all of them; a title-only query is the same under
    a column filter. Ranked reads probe the documents' ids in the text index's matches."""

    def _query(self, part: str) -> str:
        every = " AND ".join(f'"{w}"*' for w in self.words)
        return {"all": every, "title": f"{{title}} : ({every})", "body": f"({every}) NOT {{title}} : ({every})"}[part]

    def _match(self, part: str) -> ColumnElement[bool]:
        """The text index's condition (a MATCH must name the FTS5 table itself)."""
        return literal_column("search_fts").op("MATCH")(self._query(part))

    def matches(self, part: str, walk: bool) -> ColumnElement[bool]:
        found = select(FTS_TABLE.c.rowid).where(self._match(part))
        # "+id" keeps SQLite from reading the band through the matches (by rowid): a band is
        # walked in index order, and the matches only probed.
        doc_id = SearchDoc.id.op("+")(0) if walk else SearchDoc.id
        return doc_id.in_(found.scalar_subquery())

    def beginning(self, standing: int, begins: ColumnElement[bool]) -> ColumnElement[bool]:
        """SQLite has no statistics to choose how to read this band, so it is told: through
        the title_key range when few titles start with the query ("+ 0" keeps it from
        walking the whole standing in ix_search_docs_rank), by that walk when many do
        (counted from ix_search_docs_title_key alone, up to the bound)."""
        narrow = (SearchDoc.standing + literal_column("0") == standing) & begins
        if _at_most(self.session, select(SearchDoc.id).where(narrow), FEW_MATCHES + 1) > FEW_MATCHES:
            return super().beginning(standing, begins)
        return narrow

    def matching_count(self) -> int:
        return _at_most(self.session, select(FTS_TABLE.c.rowid).where(self._match("all")), FEW_MATCHES + 1)

    def snippets(self, ids: list[int]) -> dict[int, str]:
        rows = self.session.execute(
            select(FTS_TABLE.c.rowid, func.snippet(literal_column("search_fts"), -1, MARK, MARK, "…", 16))
            .where(self._match("all"), FTS_TABLE.c.rowid.op("+")(0).in_(ids)))
        return dict(rows.tuples().all())


class _Postgres(_Engine):
    """tsvector: titles carry weight A, bodies B (migration 0002), so a title-only query is
    the same query restricted to weight A."""

    def _query(self, weights: str = "") -> ColumnElement[Any]:
        expression = " & ".join(f"{w}:*{weights}" for w in self.words)
        return func.to_tsquery(literal_column("'english'::regconfig"), expression)

    def matches(self, part: str, walk: bool) -> ColumnElement[bool]:
        tsv: ColumnClause[Any] = literal_column("search_docs.tsv")
        # ts_match_vq is what "@@" calls, but the GIN index serves only the operator: a band
        # that is walked tests its rows one by one, and never pays for the index's list of
        # every match of a common prefix (tens of milliseconds at a million documents).
        match = (lambda query: func.ts_match_vq(tsv, query)) if walk else tsv.op("@@")
        anywhere, in_title = match(self._query()), match(self._query("A"))
        return {"all": anywhere, "title": in_title, "body": anywhere & ~in_title}[part]

    def matching_count(self) -> int:
        """The planner's estimate (from the statistics ANALYZE keeps of the tsvectors):
        counting tens of thousands of matches costs more than the search itself."""
        compiled = _matching(self, []).compile(self.session.get_bind())
        plan = self.session.connection().exec_driver_sql("EXPLAIN (FORMAT JSON) " + compiled.string,
                                                         compiled.params).scalar_one()
        return int(plan[0]["Plan"]["Plan Rows"])

    def snippets(self, ids: list[int]) -> dict[int, str]:
        headline = func.ts_headline(
            literal_column("'english'::regconfig"), SearchDoc.title + " " + SearchDoc.body, self._query(),
            f"StartSel={MARK}, StopSel={MARK}, MaxWords=24, MinWords=8",
        )
        return dict(self.session.execute(select(SearchDoc.id, headline).where(SearchDoc.id.in_(ids))).tuples().all())


def _matching(engine: _Engine, scope: list[ColumnElement[bool]]) -> Select:
    """The ids of the documents the query matches, within the filters."""
    return select(SearchDoc.id).where(engine.matches("all", walk=False), *scope)


def _at_most(session: Session, statement: Select, bound: int) -> int:
    """How many rows a statement has, counting no further than ``bound``."""
    return session.scalar(select(func.count()).select_from(statement.limit(bound).subquery())) or 0


def _engine(session: Session, words: list[str]) -> _Engine:
    return (_SQLite if session.get_bind().dialect.name == "sqlite" else _Postgres)(session, words)


def _bands(engine: _Engine, walk: bool) -> Iterator[Band]:
    """The bands in rank order, made as they are read (most pages are full after a few);
    ``walk``: each is to be read in index order (the engine may say how)."""
    phrase = " ".join(engine.words)
    exact = SearchDoc.title_key == phrase
    # Titles that start with the phrase and a space: a range in byte order ('!' follows ' ').
    begins = (SearchDoc.title_key >= phrase + " ") & (SearchDoc.title_key < phrase + "!")
    yield Band(exact, "all")
    for standing in STANDINGS:
        same = engine.beginning(standing, begins) if walk else _Engine.beginning(engine, standing, begins)
        yield Band(same, "all")
        for known in (0, 1):
            rest = (SearchDoc.standing == standing) & (SearchDoc.known == known) & ~exact & ~begins
            yield Band(rest, "title")
            yield Band(rest, "body")


# -- reading a page ---------------------------------------------------------------------


HIT_COLUMNS = (SearchDoc.id, SearchDoc.kind, SearchDoc.target, SearchDoc.title, SearchDoc.body)


def _all_at_once(engine: _Engine, scope: list[ColumnElement[bool]], want: int) -> list[Any]:
    """The first ``want`` hits when few documents match: all matches, sorted by band and keys."""
    whens = [(b.where & engine.matches(b.part, walk=False), i) for i, b in enumerate(_bands(engine, walk=False))]
    band = case(*whens, else_=len(whens))
    statement = select(*HIT_COLUMNS).where(engine.matches("all", walk=False), *scope)
    return list(engine.session.execute(statement.order_by(band, *RANK_ORDER).limit(want)))


def _band_by_band(engine: _Engine, scope: list[ColumnElement[bool]], want: int) -> list[Any]:
    """The first ``want`` hits when many documents match: each band in index order, until
    the page is full."""
    rows: list[Any] = []
    for band in _bands(engine, walk=True):
        statement = select(*HIT_COLUMNS).where(band.where, engine.matches(band.part, walk=True), *scope)
        rows += engine.session.execute(statement.order_by(*RANK_ORDER).limit(want - len(rows)))
        if len(rows) == want:
            break
    return rows


def _many_match(engine: _Engine, scope: list[ColumnElement[bool]]) -> bool:
    """Whether more than ``FEW_MATCHES`` documents match. Filters count too: a common word
    in one small layer has few matches there, and walking every band to find them would
    read the whole catalogue; the bounded count stops early when they are many."""
    if not scope:
        return engine.matching_count() > FEW_MATCHES
    return _at_most(engine.session, _matching(engine, scope), FEW_MATCHES + 1) > FEW_MATCHES


def search(session: Session, query: str, filters: SearchFilters, limit: int, offset: int) -> list[SearchHit]:
    """A page of hits (``Catalog.search`` holds the defaults)."""
    words = terms(query)
    check_limit(limit, "limit", MAX_HITS)
    check_int(offset, "offset", 0, MAX_INT32)
    engine = _engine(session, words)
    scope = _filter_conditions(filters)
    read = _band_by_band if _many_match(engine, scope) else _all_at_once
    rows = read(engine, scope, offset + limit)[offset:]
    snippets = engine.snippets([row.id for row in rows])
    return [
        SearchHit(row.kind, row.target, (row.title + "\n" + row.body).strip() if row.kind != "label" else row.title,
                  snippets.get(row.id, ""))
        for row in rows
    ]


def count(session: Session, query: str, filters: SearchFilters) -> int:
    """How many documents match (every page of ``search``)."""
    engine = _engine(session, terms(query))
    statement = _matching(engine, _filter_conditions(filters))
    return session.execute(select(func.count()).select_from(statement.subquery())).scalar_one()


MAX_VOCABULARY = 20_000  # distinct titles read for a suggestion, whatever the catalogue's size


def suggestion(session: Session, query: str) -> str | None:
    """A query in the catalogue's own words for a misspelt one ("curve detecter" -> "curve
    detector"): each word that is no title word is replaced by the closest title word, if
    one is close; None when nothing changes."""
    words = terms(query)
    titles = session.scalars(select(SearchDoc.title).where(SearchDoc.title != "").distinct()
                             .order_by(SearchDoc.title).limit(MAX_VOCABULARY))
    vocabulary = {w for title in titles for w in words_of(title) if len(w) > 1}
    fixed = [w if w in vocabulary else next(iter(difflib.get_close_matches(w, vocabulary, n=1, cutoff=0.75)), w)
             for w in words]
    return " ".join(fixed) if fixed != words else None


def _filter_conditions(filters: SearchFilters) -> list[ColumnElement[bool]]:
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
