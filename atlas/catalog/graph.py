"""Walking the stored graph: neighbourhoods, paths and induced subgraphs.

Walks go frontier by frontier, one indexed query per hop and direction (``dst IN
frontier AND kind IN … AND rank_in < k``), so the per-node limit is a range condition on
the top-inputs/top-outputs indexes and the same SQL runs on both dialects. Hop counts are
small (1–4), which is what makes this beat a recursive CTE that cannot stop at k per node.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from atlas.address import FeatureAddress, feature_address
from atlas.bounds import check_int, check_limit
from atlas.catalog.current import current_versions, is_current
from atlas.catalog.records import SignedEdge
from atlas.catalog.resolve import get_feature
from atlas.db.ids import id_in
from atlas.db.models import Artifact, Edge, Feature, Label, Layer, Model
from atlas.errors import InvalidInput
from atlas.vocabulary import EDGE_KINDS, THUMBNAIL_ARTIFACT

CHUNK = 2_000
MAX_PATH_NODES = 50_000
MAX_HOPS = 6  # hops of a neighbourhood, edges of a path
MAX_PATHS = 1_000
DIRECTIONS = ("in", "out", "both")


@dataclass(frozen=True)
class GraphNode:
    address: str
    model: str
    layer: str
    layer_order: int
    channel: int | None
    label: str | None
    status: str | None
    thumbnail: str | None  # sha256 of the channel visualization, when computed


@dataclass(frozen=True)
class GraphEdge(SignedEdge):
    """One edge of a walk; ``net`` (from ``SignedEdge``) says whether it excites or inhibits."""


@dataclass
class Subgraph:
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    meta: dict = field(default_factory=dict)
    paths: list[list[str]] = field(default_factory=list)


def _check(kinds: Sequence[str], direction: str = "both") -> tuple[str, ...]:
    kinds = tuple(kinds)
    unknown = [k for k in kinds if k not in EDGE_KINDS]
    if unknown or not kinds:
        raise InvalidInput(f"unknown edge kinds {unknown or kinds} (use {', '.join(EDGE_KINDS)})")
    if direction not in DIRECTIONS:
        raise InvalidInput(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    return kinds


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    ids = sorted(ids)
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def _edges_touching(
    session: Session, frontier: set[int], kinds: tuple[str, ...], side: str,
    k: int | None = None, min_strength: float = 0.0,
) -> list[Edge]:
    """Edges whose dst (side="in") or src (side="out") is in the frontier."""
    end, rank = (Edge.dst_feature_id, Edge.rank_in) if side == "in" else (Edge.src_feature_id, Edge.rank_out)
    found: list[Edge] = []
    for chunk in _chunks(frontier):
        # Plain rows, not ORM objects: a 2-hop walk reads thousands of edges.
        query = select(Edge.__table__).where(id_in(session, end, chunk), Edge.kind.in_(kinds))
        if k is not None:
            query = query.where(rank < k)
        if min_strength > 0:
            query = query.where(func.abs(Edge.strength) >= min_strength)
        found.extend(session.execute(query))
    return found


def neighbourhood(
    session: Session, address: FeatureAddress, hops: int = 1, k_per_node: int = 10, min_strength: float = 0.0,
    kinds: Sequence[str] = ("direct",), direction: str = "both",
) -> Subgraph:
    kinds = _check(kinds, direction)
    check_int(hops, "hops", 1, MAX_HOPS)
    check_limit(k_per_node, "k_per_node")
    start = get_feature(session, address)[0].id
    seen, frontier, edges = {start}, {start}, {}
    sides = ("in", "out") if direction == "both" else (direction,)
    for _ in range(hops):
        reached: set[int] = set()
        for side in sides:
            for edge in _edges_touching(session, frontier, kinds, side, k_per_node, min_strength):
                edges[edge.id] = edge
                reached.add(edge.src_feature_id if side == "in" else edge.dst_feature_id)
        frontier = reached - seen
        seen |= reached
        if not frontier:
            break
    meta = {"query": "neighbourhood", "center": str(address), "hops": hops, "k_per_node": k_per_node,
            "min_strength": min_strength, "kinds": list(kinds), "direction": direction}
    return _build(session, seen, edges.values(), meta)


def paths(
    session: Session, src: FeatureAddress, dst: FeatureAddress, max_len: int = 3, kinds: Sequence[str] = ("direct",)
) -> Subgraph:
    """Every path of at most ``max_len`` stored edges from src to dst (up to 1,000)."""
    kinds = _check(kinds)
    check_int(max_len, "max_len", 1, MAX_HOPS)
    source, target = get_feature(session, src)[0].id, get_feature(session, dst)[0].id
    outgoing: dict[int, list[Edge]] = defaultdict(list)
    frontier, seen = {source}, {source}
    for _ in range(max_len):
        found = _edges_touching(session, frontier, kinds, "out")
        for edge in found:
            outgoing[edge.src_feature_id].append(edge)
        frontier = {e.dst_feature_id for e in found} - seen
        seen |= frontier
        if len(seen) > MAX_PATH_NODES:
            raise InvalidInput(f"more than {MAX_PATH_NODES} features within {max_len} hops: lower max_len")
    found_paths: list[list[Edge]] = []

    def walk(node: int, trail: list[Edge], visited: set[int]) -> None:
        if len(found_paths) >= MAX_PATHS:
            return
        if node == target and trail:
            found_paths.append(list(trail))
            return
        if len(trail) == max_len:
            return
        for edge in sorted(outgoing.get(node, ()), key=lambda e: -abs(e.strength)):
            if edge.dst_feature_id not in visited:
                walk(edge.dst_feature_id, trail + [edge], visited | {edge.dst_feature_id})

    walk(source, [], {source})
    used = {e.id: e for path in found_paths for e in path}
    nodes = {source, target} | {e.src_feature_id for e in used.values()} | {e.dst_feature_id for e in used.values()}
    meta = {"query": "paths", "src": str(src), "dst": str(dst), "max_len": max_len, "kinds": list(kinds)}
    info = _nodes(session, nodes)
    graph = _assemble(info, used.values(), meta)
    graph.paths = [
        [info[p[0].src_feature_id].address] + [info[e.dst_feature_id].address for e in p]
        for p in found_paths
    ]
    return graph


def subgraph(session: Session, addresses: Sequence[FeatureAddress], kinds: Sequence[str] = ("direct",)) -> Subgraph:
    """The given features and every stored edge among them."""
    kinds = _check(kinds)
    ids = {get_feature(session, a)[0].id for a in addresses}
    edges = [e for e in _edges_touching(session, ids, kinds, "out") if e.dst_feature_id in ids]
    return _build(session, ids, edges, {"query": "subgraph", "kinds": list(kinds)})


def _nodes(session: Session, ids: set[int]) -> dict[int, GraphNode]:
    out = {}
    for chunk in _chunks(ids):
        latest = current_versions(id_in(session, Label.feature_id, chunk))
        labels = {
            fid: (text, status)
            for fid, text, status in session.execute(
                select(Label.feature_id, Label.text, Label.status)
                .join(latest, is_current(latest))
            )
        }
        thumbs = {
            fid: blobs.get("image")
            for fid, blobs in session.execute(
                select(Artifact.feature_id, Artifact.blobs)
                .where(id_in(session, Artifact.feature_id, chunk), Artifact.kind == THUMBNAIL_ARTIFACT)
                .order_by(Artifact.id)
            )
        }
        rows = session.execute(
            select(Feature.id, Feature.kind, Feature.channel, Feature.name, Layer.name, Layer.order, Model.name)
            .join(Layer, Layer.id == Feature.layer_id).join(Model, Model.id == Layer.model_id)
            .where(id_in(session, Feature.id, chunk))
        )
        for fid, kind, channel, name, layer, order, model in rows:
            text, status = labels.get(fid, (None, None))
            address = str(feature_address(model, layer, kind, channel, name))
            out[fid] = GraphNode(address, model, layer, order, channel, text, status, thumbs.get(fid))
    return out


def _build(session: Session, ids: set[int], edges: Iterable[Edge], meta: dict) -> Subgraph:
    return _assemble(_nodes(session, ids), edges, meta)


def _assemble(nodes: dict[int, GraphNode], edges: Iterable[Edge], meta: dict) -> Subgraph:
    graph_edges = [
        GraphEdge(nodes[e.src_feature_id].address, nodes[e.dst_feature_id].address, e.kind,
                  e.strength, e.positive_mass, e.negative_mass)
        for e in edges
    ]
    ordered = sorted(nodes.values(), key=lambda n: (n.model, n.layer_order, n.channel or 0, n.address))
    graph_edges.sort(key=lambda e: (e.src, e.dst, e.kind))
    return Subgraph(ordered, graph_edges, meta)
