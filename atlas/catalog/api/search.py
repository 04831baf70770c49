"""Full-text search, its index, and reading the audit log. Part of the Catalog API (mixed
into ``atlas.catalog.Catalog``)."""

from __future__ import annotations

from atlas.address import parse_feature
from atlas.bounds import check_limit
from atlas.catalog import audit, fulltext, search
from atlas.catalog.records import AuditInfo, SearchHit
from atlas.catalog.resolve import require_role
from atlas.catalog.search import SearchFilters
from atlas.errors import InvalidInput
from atlas.text import check_optional


class SearchMixin:
    """Mixed into :class:`atlas.catalog.Catalog`; uses its sessions and acting user."""

    def search(self, query: str, limit: int = 50, offset: int = 0, **filters: object) -> list[SearchHit]:
        """Full-text search, what a researcher means first (the query as a whole title, then
        by curated standing; within it titles that start with the query, then units with
        evidence or in circuits, matches in the title before the body; shorter first; ties
        by content: ``atlas.catalog.search``), with highlighted snippets,
        ``limit`` from ``offset``. Filters: model, layer (``layer`` or ``model/layer``),
        status (of the current label), family, author, has_evidence."""
        scope = _filters(filters)
        with self._reading() as session:
            return search.search(session, query, scope, limit, offset)

    def search_count(self, query: str, **filters: object) -> int:
        """How many results ``search`` has for this query and these filters, over all pages."""
        scope = _filters(filters)
        with self._reading() as session:
            return search.count(session, query, scope)

    def search_suggestion(self, query: str) -> str | None:
        """The query with misspelt words replaced by the closest words of the catalogue's
        labels, families and circuits ("did you mean"); None if there is nothing to fix."""
        with self._reading() as session:
            return search.suggestion(session, query)

    def reindex(self, author: str | None = None) -> int:
        """Rebuild the full-text index from the curated tables (``atlas db reindex``).
        Admins only: it rewrites every search document of the catalogue, maintenance
        rather than curation. Audited with the number of documents."""
        with self._writing() as session:
            actor = require_role(session, self._author(session, author), "admin", "reindex the catalogue").name
            documents = fulltext.reindex(session)
            audit.record(session, actor, "db.reindex", "catalogue", "search", None, {"documents": documents})
            return documents

    def audit_log(self, entity: str | None = None, limit: int = 50) -> list[AuditInfo]:
        """Recent audit entries, newest first; ``entity`` is an address or ``circuit:NAME``."""
        check_limit(limit, "limit")
        check_optional(entity, "entity")
        entity_type = entity_id = None
        if entity is not None:
            entity_type, _, entity_id = entity.partition(":") if ":" in entity.split("/")[0] else (
                "feature", "", str(parse_feature(entity))
            )
        with self._reading() as session:
            return [
                AuditInfo(e.user_name, e.action, e.entity_type, e.entity_id, e.before, e.after, e.created_at,
                          e.on_behalf_of)
                for e in audit.entries(session, entity_type, entity_id, limit)
            ]


def _filters(filters: dict[str, object]) -> SearchFilters:
    try:
        return SearchFilters(**filters)
    except TypeError:
        known = ", ".join(SearchFilters.__dataclass_fields__)
        raise InvalidInput(f"unknown search filter in {sorted(filters)} (filters: {known})") from None
