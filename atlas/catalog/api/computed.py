"""Computed results: artifacts of features, edges between them and their kernels. Part of
the Catalog API (mixed into ``atlas.catalog.Catalog``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from atlas.address import FeatureAddress, as_feature, parse_feature
from atlas.catalog import artifacts, audit, direct_paths, edge_store
from atlas.catalog.artifacts import ArtifactInfo
from atlas.catalog.edge_store import NewEdge
from atlas.catalog.records import DirectPathInfo, EdgeInfo, ShownConnections
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
        outcome: dict | None = None,
    ) -> bool:
        """Store a computed artifact (blobs already in the store) with the figures found
        (``outcome``, e.g. a visualization's final activation); False if it existed.
        Curators and above; audited (jobs write theirs on completion, audited per job)."""
        with self._writing() as session:
            actor = self._computing_actor(session)
            address = as_feature(feature)
            row = get_feature(session, address)[0]
            added = artifacts.put(session, row.id, kind, params, blobs, job_id, replace, outcome)
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
        """The float16 kernel of an edge (from its destination unit's kernel blob, keyed by
        source channel; a direction's outputs: from the direction's, keyed by destination
        channel)."""
        if edge.kernel_sha256 is None:
            return None
        table = self.blobs.get_array(edge.kernel_sha256)
        src = parse_feature(edge.src)
        key = parse_feature(edge.dst).channel if src.channel is None else src.channel
        return None if key is None else edge_store.kernel_from_table(table, key)

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

    def direct_paths(self, feature: str | FeatureAddress) -> list[DirectPathInfo]:
        """How a unit is wired to the layers before it (recorded with direct weights):
        directly, through a pool, or only through other convs (no direct weights)."""
        address = as_feature(feature)
        with self._reading() as session:
            _row, layer, _model = get_feature(session, address)
            return [] if address.channel is None else direct_paths.into(session, layer.id, address.channel)

    def shown_connections(self, feature: str | FeatureAddress, k: int = 10, direction: str = "in",
                          sort: str = "strength") -> ShownConnections:
        """A unit's top ``k`` inputs (``direction="in"``) or outputs (``"out"``) as pages
        show them by default, in the order ``sort`` (as ``top_inputs``): direct weights,
        and expanded weights for a unit that has no direct weights (a note says why), with
        the pooled kernels marked."""
        address = as_feature(feature)
        top = self.top_inputs if direction == "in" else self.top_outputs
        with self._reading() as session:
            layer = get_feature(session, address)[1]
            read = direct_paths.into if direction == "in" else direct_paths.out_of
            paths = read(session, layer.id)
        if address.channel is not None and direction == "in":
            paths = [p for p in paths if p.covers(address.channel)]
        edges = top(address, k, "direct", sort)
        if edges:
            pooled = _pooled(edges, paths, direction)
            notes = [_pooled_note(p) for p in paths if p.kind == "pooled" and direction == "in"]
            notes += _partial_notes(paths) if direction == "out" else []
            return ShownConnections("direct", edges, "; ".join(dict.fromkeys(notes)) or None, pooled)
        expanded = top(address, k, "expanded", sort)
        indirect = [p for p in paths if p.kind == "indirect"]
        if direction == "in" and indirect:
            note = "no direct weights: " + "; ".join(
                f"this unit is reached from {p.src_layer} through {p.route} → {p.conv}" for p in indirect)
        elif expanded:
            note = "no direct weights stored"
        else:
            return ShownConnections("direct", [])
        pair = f"--pair {indirect[0].src_layer}:{indirect[0].dst_layer}" if indirect else "--pair SRC:DST"
        note += ("; showing expanded weights" if expanded else
                 f"; no expanded weights computed yet (atlas compute expanded --model {address.model} {pair})")
        return ShownConnections("expanded", expanded, note)


def _pooled(edges: list[EdgeInfo], paths: list[DirectPathInfo], direction: str) -> dict[int, str]:
    """Edge id to the pools of each edge whose kernel is in pooled coordinates."""
    out = {}
    for edge in edges:
        src, dst = parse_feature(edge.src), parse_feature(edge.dst)
        if src.channel is None or dst.channel is None or edge.id is None:
            continue
        for path in paths:
            if (path.kind == "pooled" and (path.src_layer, path.dst_layer) == (src.layer, dst.layer)
                    and path.covers(dst.channel, src.channel)):
                out[edge.id] = path.route
    return out


def _pooled_note(path: DirectPathInfo) -> str:
    return (f"kernels from {path.src_layer} pass through {path.route} before {path.conv}: "
            "they are in pooled coordinates")


def _partial_notes(paths: list[DirectPathInfo]) -> list[str]:
    """For a unit's outputs: the layers whose units its direct weights reach only in part."""
    notes = []
    for dst_layer in dict.fromkeys(p.dst_layer for p in paths):
        here = [p for p in paths if p.dst_layer == dst_layer]
        indirect = [p for p in here if p.kind == "indirect"]
        if indirect:
            total = sum(p.dst_count for p in {(p.dst_start, p.dst_count): p for p in here}.values())
            reached = total - sum(p.dst_count for p in indirect)
            notes.append(f"direct weights reach {reached} of {total} units of {dst_layer}; the units of "
                         f"{', '.join(p.conv for p in indirect)} only through expanded weights")
    return notes
