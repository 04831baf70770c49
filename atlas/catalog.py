"""The catalogue: the one domain API that the app, the CLI and notebooks use.

    from atlas import Catalog
    cat = Catalog.open("sqlite:///atlas-data/atlas.db", user="alice")
    cat.set_label("demo/conv3/17", "curve detector", expected_version=0)

Each method is one transaction. Writes of curated data are attributed to a user (the
catalogue's ``user`` unless a method is given ``author``), checked against that user's
role, and recorded in the audit log in the same transaction.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Sequence

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from atlas import artifacts, audit, browse, circuits, edge_store, evidence, families, fulltext, graph, labels, seed
from atlas.artifacts import ArtifactInfo
from atlas.address import check_name, parse_feature
from atlas.blobs import BlobStore
from atlas.bundle.read import ImportReport, import_bundle
from atlas.bundle.write import write_bundle
from atlas.db import engine as dbengine
from atlas.db import migrate
from atlas.db.models import ROLES, Circuit, Edge, Family, Feature, Layer, Model, User
from atlas.edge_store import NewEdge
from atlas.errors import DatabaseError, InvalidInput, VersionConflict
from atlas.lookup import get_feature, get_layer, get_model, get_user, require_role
from atlas.registry import insert_layer
from atlas.records import (
    AuditInfo,
    CircuitInfo,
    EdgeInfo,
    EvidenceInfo,
    FamilyInfo,
    FeatureInfo,
    LabelInfo,
    LayerInfo,
    ModelInfo,
    SearchHit,
    UserInfo,
)
from atlas.fulltext import SearchFilters

MODEL_FIELDS = ("name", "architecture", "weights_sha256", "source", "input_spec")


def default_user() -> str:
    return os.environ.get("ATLAS_USER") or getpass.getuser()


class Catalog:
    def __init__(self, engine, blobs: BlobStore, user: str | None = None):  # noqa: ANN001
        self.engine = engine
        self.blobs = blobs
        self.user = user or default_user()
        self._read, self._write = dbengine.session_factory(engine)

    # -- opening ---------------------------------------------------------------------

    @classmethod
    def open(
        cls, url: str | None = None, blob_url: str | None = None, user: str | None = None
    ) -> "Catalog":
        """Open an existing, migrated catalogue; a clear error otherwise."""
        url = url or dbengine.default_database_url()
        engine = dbengine.make_engine(url)
        dbengine.check_connection(engine)
        current, head = migrate.current_revision(engine), migrate.head_revision()
        if current != head:
            engine.dispose()
            state = "not migrated" if current is None else f"at schema {current}, not {head}"
            raise DatabaseError(
                f"database {dbengine.redact(url)} is {state}: run `atlas db upgrade`"
            )
        return cls(engine, BlobStore(blob_url or dbengine.default_blob_url()), user)

    @classmethod
    def init(
        cls, url: str | None = None, blob_url: str | None = None, admin: str | None = None
    ) -> "Catalog":
        """Create (or upgrade) a catalogue and make ``admin`` its first user."""
        url = url or dbengine.default_database_url()
        probe = dbengine.make_engine(url, create_sqlite_file=True)
        dbengine.check_connection(probe)
        probe.dispose()
        migrate.upgrade(url)
        catalog = cls.open(url, blob_url, admin)
        if not catalog.users():
            catalog.add_user(catalog.user, "admin")
        return catalog

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Catalog":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        with self._guard(), self._read() as session, session.begin():
            yield session

    @contextmanager
    def writing(self) -> Iterator[Session]:
        with self._guard(), self._write() as session, session.begin():
            yield session

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise DatabaseError(f"database error: {reason}") from None

    def _author(self, author: str | None) -> str:
        return author or self.user

    # -- users -----------------------------------------------------------------------

    def add_user(self, name: str, role: str, by: str | None = None) -> UserInfo:
        """Add a user; the first user needs no admin, later ones are added by an admin."""
        check_name(name, "user")
        if role not in ROLES:
            raise InvalidInput(f"unknown role {role!r} (one of {', '.join(ROLES)})")
        with self.writing() as session:
            first = session.scalar(select(func.count(User.id))) == 0
            actor = name if first else require_role(session, self._author(by), "admin", "add users").name
            if session.scalar(select(User.id).where(User.name == name)) is not None:
                raise InvalidInput(f"user {name!r} already exists")
            session.add(User(name=name, role=role))
            audit.record(session, actor, "user.add", "user", name, None, {"name": name, "role": role})
        return UserInfo(name, role)

    def users(self) -> list[UserInfo]:
        with self.reading() as session:
            return [UserInfo(u.name, u.role) for u in session.scalars(select(User).order_by(User.name))]

    def get_user(self, name: str | None = None) -> UserInfo:
        with self.reading() as session:
            user = get_user(session, self._author(name))
            return UserInfo(user.name, user.role)

    # -- models, layers, features ----------------------------------------------------

    def add_model(
        self,
        name: str,
        architecture: str,
        layers: Sequence[dict] = (),
        weights_sha256: str | None = None,
        source: str | None = None,
        input_spec: dict | None = None,
        author: str | None = None,
    ) -> ModelInfo:
        """Register a model with its layers (dicts of name, kind, channels, spatial_shape)
        and a unit feature for every channel, all in one transaction: a bad layer leaves
        nothing registered."""
        check_name(name, "model")
        with self.writing() as session:
            actor = require_role(session, self._author(author), "curator", "add models")
            if session.scalar(select(Model.id).where(Model.name == name)) is not None:
                raise InvalidInput(f"a model named {name!r} already exists")
            model = Model(
                name=name, architecture=architecture, weights_sha256=weights_sha256,
                source=source, input_spec=input_spec,
            )
            session.add(model)
            session.flush()
            for order, spec in enumerate(layers):
                insert_layer(session, model, order=order, **spec)
            audit.record(
                session, actor.name, "model.add", "model", name,
                None, {**audit.snapshot(model, MODEL_FIELDS), "layers": len(layers)},
            )
            return ModelInfo(name, architecture, weights_sha256, source, input_spec)

    def add_layer(
        self,
        model: str,
        name: str,
        kind: str,
        channels: int,
        spatial_shape: Sequence[int] | None = None,
        author: str | None = None,
    ) -> LayerInfo:
        with self.writing() as session:
            actor = require_role(session, self._author(author), "curator", "add layers")
            model_row = get_model(session, model)
            order = session.scalar(
                select(func.coalesce(func.max(Layer.order) + 1, 0)).where(Layer.model_id == model_row.id)
            )
            layer = insert_layer(session, model_row, name, kind, channels, spatial_shape, order)
            audit.record(
                session, actor.name, "layer.add", "layer", f"{model}/{name}",
                None, {"kind": kind, "channels": channels},
            )
            return self._layer_info(layer, model_row)

    def add_direction(
        self, layer: str, name: str, vector: np.ndarray, author: str | None = None
    ) -> FeatureInfo:
        """A direction feature: a vector in the layer's channel space, stored as a blob."""
        check_name(name, "direction")
        vector = np.asarray(vector, dtype=np.float32)
        with self.writing() as session:
            actor = require_role(session, self._author(author), "curator", "add directions")
            layer_row, model = get_layer(session, layer)
            if vector.shape != (layer_row.channels,) or not np.all(np.isfinite(vector)):
                raise InvalidInput(
                    f"a direction in {layer} must be {layer_row.channels} finite numbers, "
                    f"got shape {vector.shape}"
                )
            sha = self.blobs.put_array(vector)
            session.add(Feature(layer_id=layer_row.id, kind="direction", name=name, vector_sha256=sha))
            try:
                session.flush()
            except IntegrityError:
                raise InvalidInput(f"layer {layer} already has a direction {name!r}") from None
            address = f"{layer}/dir:{name}"
            audit.record(session, actor.name, "feature.add_direction", "feature", address, None,
                         {"vector_sha256": sha})
        return self.feature(address)

    def model(self, name: str) -> ModelInfo:
        with self.reading() as session:
            m = get_model(session, name)
            return ModelInfo(m.name, m.architecture, m.weights_sha256, m.source, m.input_spec)

    def models(self) -> list[ModelInfo]:
        with self.reading() as session:
            return [
                ModelInfo(m.name, m.architecture, m.weights_sha256, m.source, m.input_spec)
                for m in session.scalars(select(Model).order_by(Model.name))
            ]

    def layers(self, model: str) -> list[LayerInfo]:
        with self.reading() as session:
            model_row = get_model(session, model)
            rows = session.scalars(select(Layer).where(Layer.model_id == model_row.id).order_by(Layer.order))
            return [self._layer_info(layer, model_row) for layer in rows]

    def layer(self, address: str) -> LayerInfo:
        with self.reading() as session:
            return self._layer_info(*get_layer(session, address))

    @staticmethod
    def _layer_info(layer: Layer, model: Model) -> LayerInfo:
        shape = tuple(layer.spatial_shape) if layer.spatial_shape else None
        return LayerInfo(model.name, layer.name, layer.kind, layer.channels, shape, layer.order)

    def feature(self, address: str) -> FeatureInfo:
        with self.reading() as session:
            row, layer, model = get_feature(session, address)
            canonical = str(parse_feature(address))
            current = labels.current(session, row.id)
            label = labels.info(current, canonical, labels.author_name(session, current)) if current else None
            return FeatureInfo(canonical, row.kind, model.name, layer.name, row.channel, row.name, label)

    # -- browsing --------------------------------------------------------------------

    def layer_page(
        self, layer: str, offset: int = 0, limit: int = 64, labelled: str = "all",
        status: str | None = None, family: str | None = None,
    ) -> browse.LayerPage:
        """One page of a layer's units with current labels and thumbnails, filtered by
        labelled/unlabelled, label status and family."""
        with self.reading() as session:
            return browse.layer_page(session, layer, offset, limit, labelled, status, family)

    def review_queue(self, statuses: Sequence[str] = ("proposed", "disputed"), limit: int = 100) -> list[LabelInfo]:
        with self.reading() as session:
            return browse.review_queue(session, tuple(statuses), limit)

    def stats(self) -> dict[str, int]:
        """Catalogue figures for the home page."""
        with self.reading() as session:
            return browse.stats(session)

    def family_names(self) -> list[str]:
        with self.reading() as session:
            return list(session.scalars(select(Family.name).order_by(Family.name)))

    def circuits_of(self, feature: str) -> list[str]:
        """The circuits that have ``feature`` as a node."""
        with self.reading() as session:
            return browse.circuits_of(session, feature)

    def add_image_evidence(
        self, data: bytes, caption: str = "", *, feature: str | None = None,
        circuit: str | None = None, edge_id: int | None = None, author: str | None = None,
    ) -> EvidenceInfo:
        """Attach an uploaded PNG or JPEG: checked and re-encoded by ``atlas.uploads``
        before anything is stored (the role is checked first, so a viewer stores nothing)."""
        from atlas.uploads import clean_image

        with self.reading() as session:
            require_role(session, self._author(author), "curator", "add evidence")
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
        author: str | None = None,
    ) -> list[int]:
        """Queue ``kind`` (e.g. ``vis`` with ``{"kinds": ["channel"], "render": {...}}``)
        over every unit of ``model/layer`` in chunk jobs for the workers; returns the job
        ids (existing ones for work already queued)."""
        from atlas.jobs.chunks import enqueue_layer_chunks

        with self.reading() as session:
            actor = require_role(session, self._author(author), "curator", "queue compute jobs").name
        model, _, layer_name = layer.partition("/")
        ids = enqueue_layer_chunks(self, kind, model, layer_name, chunk_size=chunk_size, params=params)
        with self.writing() as session:
            audit.record(session, actor, "jobs.enqueue", "layer", layer, None,
                         {"kind": kind, "chunk_size": chunk_size, "params": params, "jobs": ids})
        return ids

    def cancel_job(self, job_id: int, author: str | None = None) -> bool:
        from atlas.jobs.queue import JobQueue

        with self.reading() as session:
            actor = require_role(session, self._author(author), "curator", "cancel jobs").name
        # The queue writes in its own transaction: on SQLite, holding ours would block it.
        cancelled = JobQueue(self.engine).cancel(job_id)
        if cancelled:
            with self.writing() as session:
                audit.record(session, actor, "jobs.cancel", "job", str(job_id), None, None)
        return cancelled

    # -- labels ----------------------------------------------------------------------

    def set_label(
        self,
        feature: str,
        text: str,
        status: str = "proposed",
        confidence: float | None = None,
        author: str | None = None,
        expected_version: int | None = None,
        reason: str | None = None,
    ) -> LabelInfo:
        """Append a label version. With ``expected_version`` (the version the user saw, 0
        for none) a stale edit raises VersionConflict naming the newer version; the
        rejected attempt is kept in the audit log."""
        address = str(parse_feature(feature))
        author = self._author(author)
        try:
            with self.writing() as session:
                return labels.append(
                    session, address, text, status, confidence, author, expected_version, reason
                )
        except IntegrityError:
            # A concurrent writer took the same version number between our read and insert.
            conflict = self._conflict_after_race(address, expected_version)
        except VersionConflict as exc:
            conflict = exc
        self._audit_conflict(address, author, text, status, expected_version, conflict)
        raise conflict

    def _conflict_after_race(self, address: str, expected_version: int | None) -> VersionConflict:
        latest = self.feature(address).label
        version = latest.version if latest else 0
        return VersionConflict(
            f"conflict on {address}: you edited version {expected_version}, but version "
            f"{version} was saved first",
            version,
            latest,
        )

    def _audit_conflict(
        self, address: str, author: str, text: str, status: str,
        expected_version: int | None, conflict: VersionConflict,
    ) -> None:
        with self.writing() as session:
            audit.record(
                session, author, "label.conflict", "feature", address,
                {"version": conflict.current_version},
                {"text": text, "status": status, "expected_version": expected_version},
            )

    def review_label(
        self,
        feature: str,
        status: str,
        reason: str | None = None,
        author: str | None = None,
        expected_version: int | None = None,
    ) -> LabelInfo:
        """Accept, reject or dispute the current label text: a new version, same text."""
        current = self.feature(feature).label
        if current is None:
            raise InvalidInput(f"{feature} has no label to review")
        base = current.version if expected_version is None else expected_version
        return self.set_label(feature, current.text, status, current.confidence, author, base, reason)

    def label_history(self, feature: str) -> list[LabelInfo]:
        with self.reading() as session:
            return labels.history(session, str(parse_feature(feature)))

    # -- evidence --------------------------------------------------------------------

    def add_evidence(
        self,
        kind: str,
        body: str = "",
        *,
        feature: str | None = None,
        circuit: str | None = None,
        edge_id: int | None = None,
        blobs: Sequence[str] = (),
        author: str | None = None,
    ) -> EvidenceInfo:
        with self.writing() as session:
            actor = require_role(session, self._author(author), "curator", "add evidence")
            target, ids = self._evidence_target(session, feature, circuit, edge_id)
            row = evidence.add(session, self.blobs, target, ids, kind, body, list(blobs), actor)
            return EvidenceInfo(row.id, target, row.kind, row.body, row.blobs, actor.name, row.created_at)

    def evidence(
        self, *, feature: str | None = None, circuit: str | None = None, edge_id: int | None = None
    ) -> list[EvidenceInfo]:
        with self.reading() as session:
            target, ids = self._evidence_target(session, feature, circuit, edge_id)
            return evidence.listed(session, target, ids)

    @staticmethod
    def _evidence_target(
        session: Session, feature: str | None, circuit: str | None, edge_id: int | None
    ) -> tuple[str, dict[str, int]]:
        given = [t for t in (feature, circuit, edge_id) if t is not None]
        if len(given) != 1:
            raise InvalidInput("evidence is attached to exactly one feature, circuit or edge")
        if feature is not None:
            return str(parse_feature(feature)), {"feature_id": get_feature(session, feature)[0].id}
        if circuit is not None:
            return f"circuit:{circuit}", {"circuit_id": circuits.get(session, circuit).id}
        if session.get(Edge, edge_id) is None:
            raise InvalidInput(f"unknown edge {edge_id}")
        return f"edge:{edge_id}", {"edge_id": edge_id}

    # -- circuits --------------------------------------------------------------------

    def create_circuit(
        self, name: str, description: str = "", status: str = "draft", author: str | None = None
    ) -> CircuitInfo:
        with self.writing() as session:
            actor = require_role(session, self._author(author), "curator", "create circuits")
            return circuits.describe(session, circuits.create(session, name, description, status, actor))

    def circuit(self, name: str) -> CircuitInfo:
        with self.reading() as session:
            return circuits.describe(session, circuits.get(session, name))

    def circuits(self) -> list[str]:
        with self.reading() as session:
            return list(session.scalars(select(Circuit.name).order_by(Circuit.name)))

    def update_circuit(
        self, name: str, expected_version: int, description: str | None = None,
        status: str | None = None, author: str | None = None,
    ) -> CircuitInfo:
        with self.writing() as session:
            actor = require_role(session, self._author(author), "curator", "edit circuits")
            circuit = circuits.get(session, name)
            return circuits.describe(
                session, circuits.update(session, circuit, actor, expected_version, description, status)
            )

    def _edit_circuit(self, name: str, author: str | None, edit, *args) -> CircuitInfo:  # noqa: ANN001
        with self.writing() as session:
            actor = require_role(session, self._author(author), "curator", "edit circuits")
            circuit = circuits.get(session, name)
            edit(session, circuit, *args, actor)
            session.flush()
            return circuits.describe(session, circuit)

    def add_circuit_node(self, circuit: str, feature: str, role: str | None = None,
                         author: str | None = None) -> CircuitInfo:
        return self._edit_circuit(circuit, author, circuits.add_node, str(parse_feature(feature)), role)

    def remove_circuit_node(self, circuit: str, feature: str, author: str | None = None) -> CircuitInfo:
        return self._edit_circuit(circuit, author, circuits.remove_node, str(parse_feature(feature)))

    def add_circuit_edge(self, circuit: str, src: str, dst: str, note: str | None = None,
                         author: str | None = None) -> CircuitInfo:
        return self._edit_circuit(
            circuit, author, circuits.add_edge, str(parse_feature(src)), str(parse_feature(dst)), note
        )

    def remove_circuit_edge(self, circuit: str, src: str, dst: str,
                            author: str | None = None) -> CircuitInfo:
        return self._edit_circuit(
            circuit, author, circuits.remove_edge, str(parse_feature(src)), str(parse_feature(dst))
        )

    def add_claim(self, circuit: str, prediction: str, experiment: dict | None = None,
                  author: str | None = None) -> CircuitInfo:
        return self._edit_circuit(circuit, author, circuits.add_claim, prediction, experiment)

    def set_claim_status(self, claim_id: int, status: str, result: str | None = None,
                         author: str | None = None) -> None:
        with self.writing() as session:
            actor = require_role(session, self._author(author), "reviewer", "judge claims")
            circuits.set_claim_status(session, claim_id, status, result, actor)

    # -- families --------------------------------------------------------------------

    def create_family(self, name: str, description: str = "", author: str | None = None) -> FamilyInfo:
        with self.writing() as session:
            actor = require_role(session, self._author(author), "curator", "create families")
            return families.describe(session, families.create(session, name, description, actor))

    def add_family_member(self, family: str, feature: str, note: str | None = None,
                          author: str | None = None) -> FamilyInfo:
        with self.writing() as session:
            actor = require_role(session, self._author(author), "curator", "edit families")
            row = families.get(session, family)
            families.add_member(session, row, str(parse_feature(feature)), note, actor)
            session.flush()
            return families.describe(session, row)

    def family(self, name: str) -> FamilyInfo:
        with self.reading() as session:
            return families.describe(session, families.get(session, name))

    def families_of(self, feature: str) -> list[str]:
        with self.reading() as session:
            return families.of_feature(session, get_feature(session, feature)[0].id)

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
        """Store a computed artifact (blobs already in the store); False if it existed."""
        with self.writing() as session:
            row = get_feature(session, feature)[0]
            return artifacts.put(session, row.id, kind, params, blobs, job_id, replace)

    def artifacts(self, feature: str, kind: str | None = None) -> list[ArtifactInfo]:
        with self.reading() as session:
            row = get_feature(session, feature)[0]
            return artifacts.of_feature(session, row.id, str(parse_feature(feature)), kind)

    # -- edges -----------------------------------------------------------------------

    def add_edges(self, edges: Sequence[NewEdge]) -> int:
        """Bulk-insert computed edges (no audit: edges are computed, not curated)."""
        with self.writing() as session:
            try:
                return edge_store.add(session, list(edges))
            except IntegrityError as exc:
                raise InvalidInput(f"edges already stored or invalid: {exc.orig}") from None

    def load_edges(self, edges: edge_store.EdgeColumns) -> int:
        """Bulk-load edges given as columns of feature ids: the path for computed
        connections (COPY on PostgreSQL), one transaction."""
        with self.writing() as session:
            try:
                return edge_store.load(session, edges)
            except IntegrityError as exc:
                raise InvalidInput(f"edges already stored or invalid: {exc.orig}") from None

    def edge_kernel(self, edge: EdgeInfo) -> np.ndarray | None:
        """The float16 kernel of an edge (from its destination unit's kernel blob)."""
        if edge.kernel_sha256 is None:
            return None
        table = self.blobs.get_array(edge.kernel_sha256)
        return edge_store.kernel_from_table(table, parse_feature(edge.src).channel)

    def top_inputs(self, feature: str, k: int = 10, kind: str = "direct") -> list[EdgeInfo]:
        with self.reading() as session:
            return edge_store.top(session, feature, k, kind, "in")

    def top_outputs(self, feature: str, k: int = 10, kind: str = "direct") -> list[EdgeInfo]:
        with self.reading() as session:
            return edge_store.top(session, feature, k, kind, "out")

    # -- graph queries ---------------------------------------------------------------

    def neighbourhood(
        self, feature: str, hops: int = 1, k_per_node: int = 10, min_strength: float = 0.0,
        kinds: Sequence[str] = ("direct",), direction: str = "both",
    ) -> graph.Subgraph:
        """The features within ``hops`` of one, following each node's k strongest edges."""
        with self.reading() as session:
            return graph.neighbourhood(session, feature, hops, k_per_node, min_strength, kinds, direction)

    def paths(self, src: str, dst: str, max_len: int = 3, kinds: Sequence[str] = ("direct",)) -> graph.Subgraph:
        with self.reading() as session:
            return graph.paths(session, src, dst, max_len, kinds)

    def subgraph(self, features: Sequence[str], kinds: Sequence[str] = ("direct",)) -> graph.Subgraph:
        with self.reading() as session:
            return graph.subgraph(session, features, kinds)

    def circuit_graph(self, name: str, kinds: Sequence[str] = ("direct", "expanded")) -> graph.Subgraph:
        """A circuit as a graph: its nodes, its curated edges with the stored weights when
        there are any (strength 0 where a curated edge has no stored weight)."""
        info = self.circuit(name)
        with self.reading() as session:
            sub = graph.subgraph(session, [a for a, _ in info.nodes], kinds)
        stored = {(e.src, e.dst): e for e in sub.edges}
        sub.edges = [
            stored.get((s, d)) or graph.GraphEdge(s, d, "curated", 0.0, None, None)
            for s, d, _note in info.edges
        ]
        sub.meta = {"query": "circuit", "circuit": name, "description": info.description,
                    "status": info.status, "claims": [c.prediction for c in info.claims]}
        return sub

    # -- bundles ---------------------------------------------------------------------

    def export_bundle(self, target: str | IO[bytes], models: Sequence[str] | None = None) -> dict[str, int]:
        """Write the catalogue (or some models of it) as a bundle zip; returns counts."""
        with self.reading() as session:
            if isinstance(target, str):
                with open(target, "wb") as handle:
                    return write_bundle(session, self.blobs, handle, list(models) if models else None)
            return write_bundle(session, self.blobs, target, list(models) if models else None)

    def import_bundle(self, source: str | IO[bytes], author: str | None = None) -> ImportReport:
        """Merge a bundle in one transaction; a bad bundle is rejected with nothing written."""
        with self.writing() as session:
            user = require_role(session, self._author(author), "admin", "import bundles")
            return import_bundle(session, self.blobs, source, user)

    # -- seeds -----------------------------------------------------------------------

    def load_seed(self, name_or_path: str, author: str | None = None) -> seed.SeedReport:
        """Load a seed catalogue (``inceptionv1``, ``demo`` or a path) in one transaction."""
        with self.writing() as session:
            return seed.load_seed(session, self.blobs, name_or_path, self._author(author))

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
        with self.reading() as session:
            return fulltext.search(session, query, scope, limit)

    def reindex(self) -> int:
        """Rebuild the full-text index from the curated tables (``atlas db reindex``)."""
        with self.writing() as session:
            return fulltext.reindex(session)

    def audit_log(self, entity: str | None = None, limit: int = 50) -> list[AuditInfo]:
        """Recent audit entries, newest first; ``entity`` is an address or ``circuit:NAME``."""
        entity_type = entity_id = None
        if entity is not None:
            entity_type, _, entity_id = entity.partition(":") if ":" in entity.split("/")[0] else (
                "feature", "", str(parse_feature(entity))
            )
        with self.reading() as session:
            return [
                AuditInfo(e.user_name, e.action, e.entity_type, e.entity_id, e.before, e.after, e.created_at)
                for e in audit.entries(session, entity_type, entity_id, limit)
            ]

