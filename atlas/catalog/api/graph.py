"""Graph walks over stored edges: neighbourhoods, paths, subgraphs, a circuit as a graph.
Part of the Catalog API (mixed into ``atlas.catalog.Catalog``)."""

from __future__ import annotations

from collections.abc import Sequence

from atlas.address import FeatureAddress, as_feature
from atlas.catalog import graph


class GraphMixin:
    """Mixed into :class:`atlas.catalog.Catalog`; uses its sessions."""

    def neighbourhood(
        self, feature: str | FeatureAddress, hops: int = 1, k_per_node: int = 10, min_strength: float = 0.0,
        kinds: Sequence[str] = ("direct",), direction: str = "both",
    ) -> graph.Subgraph:
        """The features within ``hops`` of one, following each node's k strongest edges."""
        address = as_feature(feature)
        with self._reading() as session:
            return graph.neighbourhood(session, address, hops, k_per_node, min_strength, kinds, direction)

    def paths(
        self, src: str | FeatureAddress, dst: str | FeatureAddress, max_len: int = 3,
        kinds: Sequence[str] = ("direct",),
    ) -> graph.Subgraph:
        source, target = as_feature(src), as_feature(dst)
        with self._reading() as session:
            return graph.paths(session, source, target, max_len, kinds)

    def subgraph(
        self, features: Sequence[str | FeatureAddress], kinds: Sequence[str] = ("direct",)
    ) -> graph.Subgraph:
        addresses = [as_feature(feature) for feature in features]
        with self._reading() as session:
            return graph.subgraph(session, addresses, kinds)

    def circuit_graph(self, name: str, kinds: Sequence[str] = ("direct", "expanded")) -> graph.Subgraph:
        """A circuit as a graph: its nodes, its curated edges with the stored weights when
        there are any (strength 0 where a curated edge has no stored weight)."""
        info = self.circuit(name)
        with self._reading() as session:
            sub = graph.subgraph(session, [as_feature(a) for a, _ in info.nodes], kinds)
        stored = {(e.src, e.dst): e for e in sub.edges}
        sub.edges = [
            stored.get((edge.src, edge.dst)) or graph.GraphEdge(edge.src, edge.dst, "curated", 0.0, None, None)
            for edge in info.edges
        ]
        sub.meta = {"query": "circuit", "circuit": name, "description": info.description,
                    "status": info.status, "claims": [c.prediction for c in info.claims]}
        return sub
