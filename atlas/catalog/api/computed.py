"""Computed results: artifacts of features, edges between them and their kernels. Part of
the Catalog API (mixed into ``atlas.catalog.Catalog``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from atlas.address import FeatureAddress, as_feature, parse_feature
from atlas.catalog import artifacts, audit, edge_store
from atlas.catalog.artifacts import ArtifactInfo
from atlas.catalog.edge_store import NewEdge
from atlas.catalog.records import EdgeInfo
from atlas.catalog.resolve import get_feature, require_role
from atlas.errors import InvalidInput


class ComputedMixin:
    """Mixed into :class:`atlas.catalog.Catalog`; uses its sessions and acting user."""

    def add_artifact(
        self,
        feature: str | FeatureAddress,
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
            address = as_feature(feature)
            row = get_feature(session, address)[0]
            added = artifacts.put(session, row.id, kind, params, blobs, job_id, replace)
            if added:
                audit.record(session, actor, "artifact.add", "feature", str(address), None,
                             {"kind": kind, "replace": replace})
            return added

    def artifacts(self, feature: str | FeatureAddress, kind: str | None = None) -> list[ArtifactInfo]:
        address = as_feature(feature)
        with self._reading() as session:
            row = get_feature(session, address)[0]
            return artifacts.of_feature(session, row.id, str(address), kind)

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

    def top_inputs(self, feature: str | FeatureAddress, k: int = 10, kind: str = "direct",
                   sort: str = "strength") -> list[EdgeInfo]:
        """A feature's k strongest inputs; ``sort`` is one of ``EDGE_SORTS``: ``strength``
        (norm), ``net`` (signed, most excitatory first, most inhibitory last),
        ``excitatory`` or ``inhibitory`` (that sign only, strongest first)."""
        address = as_feature(feature)
        with self._reading() as session:
            return edge_store.top(session, address, k, kind, "in", sort)

    def top_outputs(self, feature: str | FeatureAddress, k: int = 10, kind: str = "direct",
                    sort: str = "strength") -> list[EdgeInfo]:
        """A feature's k strongest outputs, ordered as ``top_inputs``."""
        address = as_feature(feature)
        with self._reading() as session:
            return edge_store.top(session, address, k, kind, "out", sort)
