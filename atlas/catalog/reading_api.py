"""Reading the catalogue: browsing pages, artifacts, edges, graph walks, search and the
audit log. Part of the Catalog API (mixed into ``atlas.catalog.Catalog``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from atlas.address import parse_feature
from atlas.bounds import check_limit
from atlas.catalog import artifacts, audit, browse, edge_store, evidence, fulltext, graph
from atlas.catalog.artifacts import ArtifactInfo
from atlas.catalog.edge_store import NewEdge
from atlas.catalog.fulltext import SearchFilters
from atlas.catalog.records import (
    AuditInfo,
    EdgeInfo,
    EvidenceInfo,
    LabelInfo,
    SearchHit,
)
from atlas.catalog.resolve import get_feature, require_role
from atlas.db.models import Family
from atlas.errors import InvalidInput
from atlas.text import check_optional


class ReadingMixin:
    """Mixed into :class:`atlas.catalog.Catalog`; uses its sessions and acting user."""

    # -- browsing --------------------------------------------------------------------

    def layer_page(
        self, layer: str, offset: int = 0, limit: int = 64, labelled: str = "all",
        status: str | None = None, family: str | None = None,
    ) -> browse.LayerPage:
        """One page of a layer's units with current labels and thumbnails, filtered by
        labelled/unlabelled, label status and family."""
        with self._reading() as session:
            return browse.layer_page(session, layer, offset, limit, labelled, status, family)

    def review_queue(self, statuses: Sequence[str] = ("proposed", "disputed"), limit: int = 100) -> list[LabelInfo]:
        with self._reading() as session:
            return browse.review_queue(session, tuple(statuses), limit)

    def stats(self) -> dict[str, int]:
        """Catalogue figures for the home page."""
        with self._reading() as session:
            return browse.stats(session)

    def family_names(self) -> list[str]:
        with self._reading() as session:
            return list(session.scalars(select(Family.name).order_by(Family.name)))

    def circuits_of(self, feature: str) -> list[str]:
        """The circuits that have ``feature`` as a node."""
        with self._reading() as session:
            return browse.circuits_of(session, feature)

    def add_image_evidence(
        self, data: bytes, caption: str = "", *, feature: str | None = None,
        circuit: str | None = None, edge_id: int | None = None, author: str | None = None,
    ) -> EvidenceInfo:
        """Attach an uploaded PNG or JPEG: checked and re-encoded by ``atlas.catalog.uploads``
        before anything is stored (the role is checked first, so a viewer stores nothing)."""
        from atlas.catalog.uploads import clean_image

        with self._reading() as session:
            require_role(session, self._author(session, author), "curator", "add evidence")
        evidence.check_body("image", caption)  # a refused caption stores no image
        sha = self.blobs.put_bytes(clean_image(data))
        return self.add_evidence("image", caption, feature=feature, circuit=circuit,
                                 edge_id=edge_id, blobs=[sha], author=author)

    def jobs(self, status: str | None = None, limit: int = 50) -> list:
        """The most recent compute jobs (``atlas.jobs.JobInfo``), newest first."""
        from atlas.jobs.queue import JobQueue  # atlas.jobs imports this module

        return JobQueue(self.engine).recent(status, None, limit)

    def job_counts(self) -> dict[str, int]:
        from atlas.jobs.queue import JobQueue

        return JobQueue(self.engine).counts()

    def enqueue_layer_compute(
        self, kind: str, layer: str, chunk_size: int = 16, params: dict | None = None,
        author: str | None = None, units: Sequence[int] | None = None,
    ) -> list[int]:
        """Queue ``kind`` (e.g. ``vis`` with ``{"kinds": ["channel"], "render": {...}}``)
        over ``units`` of ``model/layer`` (default: every unit) in chunk jobs for the
        workers; returns the job ids (existing ones for work already queued). The
        parameters are checked here (``atlas.jobs.params``), so a bad one is one line now,
        not a worker's failure later."""
        from atlas.jobs.chunks import enqueue_layer_chunks
        from atlas.jobs.params import check_params

        model, _, layer_name = layer.partition("/")
        actor = self._job_actor(author, "queue compute jobs")
        self.model(model).check_not_imported()
        params = check_params(kind, dict(params or {}))
        return self._enqueue(actor, layer, {"kind": kind, "chunk_size": chunk_size, "params": params},
                             lambda: enqueue_layer_chunks(self, kind, model, layer_name, units, chunk_size,
                                                          params))

    def enqueue_connections(
        self, src: str, dst: str, kind: str = "direct", k: int = 20, chunk_size: int | None = None,
        author: str | None = None, force: bool = False, dataset: dict | None = None,
    ) -> list[int]:
        """Queue the ``kind`` connections from layer ``src`` to layer ``dst`` (addresses in
        one model): chunk jobs of destination units (128 by default) and the ranking job
        that waits for them (the last id). ``force`` replaces edges already stored;
        attribution needs a ``dataset`` spec (``atlas.compute.datasets.spec``)."""
        from atlas.jobs.pairs import DEFAULT_CHUNK_UNITS, enqueue_connections

        chunk_size = DEFAULT_CHUNK_UNITS if chunk_size is None else chunk_size
        actor = self._job_actor(author, "queue compute jobs")
        src_layer, dst_layer = self.layer(src), self.layer(dst)
        self.model(dst_layer.model).check_not_imported()
        if src_layer.model != dst_layer.model:
            raise InvalidInput(f"{src} and {dst} are layers of different models")
        return self._enqueue(actor, dst, {"kind": f"connections.{kind}", "src": src, "k": k,
                                          "chunk_size": chunk_size, "force": force},
                             lambda: enqueue_connections(self, dst_layer.model, src_layer.name, dst_layer.name,
                                                         kind, k, chunk_size, force, dataset))

    def _job_actor(self, author: str | None, action: str) -> str:
        """The acting user's name if they may ``action`` (curators and above)."""
        with self._reading() as session:
            return require_role(session, self._author(session, author), "curator", action).name

    def _enqueue(self, author: str, layer: str, details: dict, enqueue: Callable[[], list[int]]) -> list[int]:
        """Queue jobs as a curator's act (``author``, checked by ``_job_actor``), recorded
        in the audit log with their ids."""
        ids = enqueue()
        with self._writing() as session:
            audit.record(session, self._author(session, author), "jobs.enqueue", "layer", layer, None,
                         {**details, "jobs": ids})
        return ids

    def cancel_job(self, job_id: int, author: str | None = None) -> bool:
        """Cancel a queued or running job (curators); False when it is in another state."""
        return self._job_act("cancel", job_id, author)

    def retry_job(self, job_id: int, author: str | None = None) -> bool:
        """Queue a failed or cancelled job again (curators); False otherwise."""
        return self._job_act("retry", job_id, author)

    def _job_act(self, act: str, job_id: int, author: str | None) -> bool:
        from atlas.jobs.queue import JobQueue

        self._job_actor(author, f"{act} jobs")
        # The queue writes in its own transaction: on SQLite, holding ours would block it.
        queue = JobQueue(self.engine)
        changed = (queue.cancel if act == "cancel" else queue.retry)(job_id)
        if changed:
            with self._writing() as session:
                audit.record(session, self._author(session, author), f"jobs.{act}", "job", str(job_id), None, None)
        return changed

    # -- artifacts -------------------------------------------------------------------

    def add_artifact(
        self,
        feature: str,
        kind: str,
        params: dict,
        blobs: dict,
        job_id: int | None = None,
        replace: bool = False,
    ) -> bool:
        """Store a computed artifact (blobs already in the store); False if it existed.
        Curators and above; audited (jobs write theirs on completion, audited per job)."""
        with self._writing() as session:
            actor = self._computing_actor(session)
            row = get_feature(session, feature)[0]
            added = artifacts.put(session, row.id, kind, params, blobs, job_id, replace)
            if added:
                audit.record(session, actor, "artifact.add", "feature", str(parse_feature(feature)), None,
                             {"kind": kind, "replace": replace})
            return added

    def artifacts(self, feature: str, kind: str | None = None) -> list[ArtifactInfo]:
        with self._reading() as session:
            row = get_feature(session, feature)[0]
            return artifacts.of_feature(session, row.id, str(parse_feature(feature)), kind)

    # -- edges -----------------------------------------------------------------------

    def add_edges(self, edges: Sequence[NewEdge]) -> int:
        """Bulk-insert computed edges (curators and above; one audit entry with the count)."""
        with self._writing() as session:
            actor = self._computing_actor(session)
            try:
                added = edge_store.add(session, list(edges))
            except IntegrityError as exc:
                raise InvalidInput(f"edges already stored or invalid: {exc.orig}") from None
            audit.record(session, actor, "edges.add", "edges", "computed", None, {"edges": added})
            return added

    def load_edges(self, edges: edge_store.EdgeColumns) -> int:
        """Bulk-load edges given as columns of feature ids: the path for computed
        connections (COPY on PostgreSQL), one transaction. Curators and above; audited."""
        with self._writing() as session:
            actor = self._computing_actor(session)
            try:
                added = edge_store.load(session, edges)
            except IntegrityError as exc:
                raise InvalidInput(f"edges already stored or invalid: {exc.orig}") from None
            audit.record(session, actor, "edges.load", "edges", "computed", None, {"edges": added})
            return added

    def _computing_actor(self, session: Session) -> str:
        """The acting user, if they may store computed results (curators and above)."""
        return require_role(session, self.user, "curator", "store computed results").name

    def edge_kernel(self, edge: EdgeInfo) -> np.ndarray | None:
        """The float16 kernel of an edge (from its destination unit's kernel blob)."""
        if edge.kernel_sha256 is None:
            return None
        table = self.blobs.get_array(edge.kernel_sha256)
        return edge_store.kernel_from_table(table, parse_feature(edge.src).channel)

    def top_inputs(self, feature: str, k: int = 10, kind: str = "direct") -> list[EdgeInfo]:
        with self._reading() as session:
            return edge_store.top(session, feature, k, kind, "in")

    def top_outputs(self, feature: str, k: int = 10, kind: str = "direct") -> list[EdgeInfo]:
        with self._reading() as session:
            return edge_store.top(session, feature, k, kind, "out")

    # -- graph queries ---------------------------------------------------------------

    def neighbourhood(
        self, feature: str, hops: int = 1, k_per_node: int = 10, min_strength: float = 0.0,
        kinds: Sequence[str] = ("direct",), direction: str = "both",
    ) -> graph.Subgraph:
        """The features within ``hops`` of one, following each node's k strongest edges."""
        with self._reading() as session:
            return graph.neighbourhood(session, feature, hops, k_per_node, min_strength, kinds, direction)

    def paths(self, src: str, dst: str, max_len: int = 3, kinds: Sequence[str] = ("direct",)) -> graph.Subgraph:
        with self._reading() as session:
            return graph.paths(session, src, dst, max_len, kinds)

    def subgraph(self, features: Sequence[str], kinds: Sequence[str] = ("direct",)) -> graph.Subgraph:
        with self._reading() as session:
            return graph.subgraph(session, features, kinds)

    def circuit_graph(self, name: str, kinds: Sequence[str] = ("direct", "expanded")) -> graph.Subgraph:
        """A circuit as a graph: its nodes, its curated edges with the stored weights when
        there are any (strength 0 where a curated edge has no stored weight)."""
        info = self.circuit(name)
        with self._reading() as session:
            sub = graph.subgraph(session, [a for a, _ in info.nodes], kinds)
        stored = {(e.src, e.dst): e for e in sub.edges}
        sub.edges = [
            stored.get((s, d)) or graph.GraphEdge(s, d, "curated", 0.0, None, None)
            for s, d, _note in info.edges
        ]
        sub.meta = {"query": "circuit", "circuit": name, "description": info.description,
                    "status": info.status, "claims": [c.prediction for c in info.claims]}
        return sub

    # -- search and audit ------------------------------------------------------------

    def search(self, query: str, limit: int = 50, **filters: object) -> list[SearchHit]:
        """Full-text search, best first, with highlighted snippets. Filters: model, layer
        (``layer`` or ``model/layer``), status (of the current label), family, author,
        has_evidence."""
        try:
            scope = SearchFilters(**filters)
        except TypeError:
            known = ", ".join(SearchFilters.__dataclass_fields__)
            raise InvalidInput(f"unknown search filter in {sorted(filters)} (filters: {known})") from None
        with self._reading() as session:
            return fulltext.search(session, query, scope, limit)

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
