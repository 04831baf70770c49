"""The catalogue: the one domain API that the app, the CLI and notebooks use.

    from atlas import Catalog
    cat = Catalog.open("sqlite:///atlas-data/atlas.db", user="alice")
    cat.set_label("demo/conv3/17", "curve detector", expected_version=0)

Each method is one transaction. Writes of curated data are attributed to the catalogue's
``user``, checked against that user's role, and recorded in the audit log in the same
transaction. Only an admin may name another user (``author=``, ``by=``): the write is then
theirs and the audit entry records both (see ``Catalog._author``).
"""

from __future__ import annotations

import copy
import getpass
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from atlas.address import check_name, check_user_name, parse_feature
from atlas.catalog import audit, labels
from atlas.catalog.curation_api import CurationMixin
from atlas.catalog.layers import adopt_layers, insert_layer
from atlas.catalog.reading_api import ReadingMixin
from atlas.catalog.records import (
    FeatureInfo,
    LabelInfo,
    LayerInfo,
    ModelInfo,
    UserInfo,
)
from atlas.catalog.resolve import get_feature, get_layer, get_model, get_user, require_role
from atlas.db import engine as dbengine
from atlas.db import migrate, store_identity
from atlas.db.blobs import BlobStore
from atlas.db.models import ROLES, Feature, Layer, Model, User
from atlas.errors import DatabaseError, InvalidInput, VersionConflict

MODEL_FIELDS = ("name", "architecture", "weights_sha256", "source", "input_spec")
ADOPTED_FIELDS = ("architecture", "weights_sha256", "source", "input_spec", "origin")


def default_user() -> str:
    return os.environ.get("ATLAS_USER") or getpass.getuser()


def acting_user(user: str | None) -> str:
    """The name a catalogue acts as: ``user``, or $ATLAS_USER or the login name when none
    is given. An empty name is refused, not replaced: `--user ""` must never quietly act
    as whoever runs the command."""
    if user is None:
        return default_user()
    if not user.strip():
        raise InvalidInput(
            "the acting user name is empty: name a user (--user NAME), or leave it out "
            "to act as $ATLAS_USER or the login name"
        )
    return user


class Catalog(CurationMixin, ReadingMixin):
    def __init__(self, engine, blobs: BlobStore, user: str | None = None):  # noqa: ANN001
        self.engine = engine
        self.blobs = blobs
        self.user = acting_user(user)
        self._read, self._write = dbengine.session_factory(engine)

    # -- opening ---------------------------------------------------------------------

    @classmethod
    def open(
        cls, url: str | None = None, blob_url: str | None = None, user: str | None = None
    ) -> Catalog:
        """Open an existing, migrated catalogue; a clear error otherwise."""
        user = acting_user(user)
        url = url or dbengine.default_database_url()
        engine = dbengine.make_engine(url)
        try:
            dbengine.check_connection(engine)
        except DatabaseError:
            engine.dispose()
            raise
        current, head = migrate.current_revision(engine), migrate.head_revision()
        if current != head:
            engine.dispose()
            state = "not migrated" if current is None else f"at schema {current}, not {head}"
            raise DatabaseError(
                f"database {dbengine.redact(url)} is {state}: run `atlas db upgrade`"
            )
        blobs = BlobStore(blob_url or dbengine.default_blob_url())
        try:
            store_identity.check(engine, blobs)  # the catalogue's own blob store, not another
        except Exception:
            engine.dispose()
            raise
        return cls(engine, blobs, user)

    @classmethod
    def init(
        cls, url: str | None = None, blob_url: str | None = None, admin: str | None = None
    ) -> Catalog:
        """Create (or upgrade) a catalogue and make ``admin`` its first user. A new
        catalogue and its blob store get a store id (``atlas.db.store_identity``); a store
        that has one already (a database re-created on it) lends it its id."""
        admin = acting_user(admin)
        url = url or dbengine.default_database_url()
        probe = dbengine.make_engine(url, create_sqlite_file=True)
        dbengine.check_connection(probe)
        probe.dispose()
        migrate.upgrade(url)
        engine = dbengine.make_engine(url)
        try:
            store_identity.check(engine, BlobStore(blob_url or dbengine.default_blob_url()), adopt=True)
        finally:
            engine.dispose()
        catalog = cls.open(url, blob_url, admin)
        if not catalog.users():
            catalog.add_user(catalog.user, "admin")
        return catalog

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Raw sessions are internal: every write goes through a method that checks the role
    # and audits. (Someone with the database URL can still connect directly; what roles
    # can and cannot protect against is in docs/security.md.)

    @contextmanager
    def _reading(self) -> Iterator[Session]:
        with self._guard(), self._read() as session, session.begin():
            yield session

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        with self._guard(), self._write() as session, session.begin():
            yield session

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise DatabaseError(f"database error: {reason}") from None

    def _author(self, session: Session, author: str | None) -> str:
        """The user a write is attributed to: the catalogue's user, or ``author`` when the
        catalogue's user is an admin acting for them. The one place an override is allowed:
        anyone else naming another user is refused before anything is written, and an
        admin's act is marked on the session so that every audit entry of the write names
        both the admin and the user (``audit.act_for``)."""
        if author is None or author == self.user:
            return self.user
        require_role(session, self.user, "admin", f"act for user {author!r}")
        audit.act_for(session, self.user, author)
        return author

    def as_user(self, name: str) -> Catalog:
        """This catalogue (same engine and blob store) acting as ``name``: for a front end
        that has authenticated its user (the app), so their writes are their own rather
        than an admin's on their behalf. Close the original, not this."""
        view = copy.copy(self)
        view.user = acting_user(name)
        return view

    # -- users -----------------------------------------------------------------------

    def add_user(self, name: str, role: str, by: str | None = None) -> UserInfo:
        """Add a user; the first user needs no admin, later ones are added by an admin."""
        check_user_name(name)
        if role not in ROLES:
            raise InvalidInput(f"unknown role {role!r} (one of {', '.join(ROLES)})")
        with self._writing() as session:
            first = session.scalar(select(func.count(User.id))) == 0
            actor = name if first else require_role(session, self._author(session, by), "admin", "add users").name
            if session.scalar(select(User.id).where(User.name == name)) is not None:
                raise InvalidInput(f"user {name!r} already exists")
            session.add(User(name=name, role=role))
            audit.record(session, actor, "user.add", "user", name, None, {"name": name, "role": role})
        return UserInfo(name, role)

    def users(self) -> list[UserInfo]:
        with self._reading() as session:
            return [UserInfo(u.name, u.role) for u in session.scalars(select(User).order_by(User.name))]

    def get_user(self, name: str | None = None) -> UserInfo:
        with self._reading() as session:
            user = get_user(session, name or self.user)
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
        with self._writing() as session:
            actor = require_role(session, self._author(session, author), "curator", "add models")
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

    def adopt_model(
        self,
        name: str,
        architecture: str,
        layers: Sequence[dict],
        weights_sha256: str | None,
        source: str | None,
        input_spec: dict | None,
        author: str | None = None,
    ) -> ModelInfo:
        """Register here a model imported from a bundle (inert until now), keeping its
        labels, edges and artifacts: an admin's decision, since workers will then run its
        architecture on these weights. ``layers`` are those discovered by loading it here
        and must be the imported ones (names, channels); the model's architecture, weights
        and source are set and its origin cleared in one audited transaction."""
        with self._writing() as session:
            actor = require_role(session, self._author(session, author), "admin", "register imported models")
            model = get_model(session, name)
            if model.origin is None:
                raise InvalidInput(f"a model named {name!r} already exists")
            before = audit.snapshot(model, ADOPTED_FIELDS)
            adopt_layers(session, model, layers)
            model.architecture, model.weights_sha256, model.source = architecture, weights_sha256, source
            model.input_spec, model.origin = input_spec, None
            audit.record(session, actor.name, "model.adopt", "model", name, before,
                         audit.snapshot(model, ADOPTED_FIELDS))
            return self._model_info(model)

    def add_layer(
        self,
        model: str,
        name: str,
        kind: str,
        channels: int,
        spatial_shape: Sequence[int] | None = None,
        author: str | None = None,
    ) -> LayerInfo:
        with self._writing() as session:
            actor = require_role(session, self._author(session, author), "curator", "add layers")
            model_row = get_model(session, model)
            order = session.execute(
                select(func.coalesce(func.max(Layer.order) + 1, 0)).where(Layer.model_id == model_row.id)
            ).scalar_one()
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
        with self._writing() as session:
            actor = require_role(session, self._author(session, author), "curator", "add directions")
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
        with self._reading() as session:
            return self._model_info(get_model(session, name))

    def models(self) -> list[ModelInfo]:
        with self._reading() as session:
            return [self._model_info(m) for m in session.scalars(select(Model).order_by(Model.name))]

    @staticmethod
    def _model_info(m: Model) -> ModelInfo:
        return ModelInfo(m.name, m.architecture, m.weights_sha256, m.source, m.input_spec, m.origin)

    def layers(self, model: str) -> list[LayerInfo]:
        with self._reading() as session:
            model_row = get_model(session, model)
            rows = session.scalars(select(Layer).where(Layer.model_id == model_row.id).order_by(Layer.order))
            return [self._layer_info(layer, model_row) for layer in rows]

    def layer(self, address: str) -> LayerInfo:
        with self._reading() as session:
            return self._layer_info(*get_layer(session, address))

    @staticmethod
    def _layer_info(layer: Layer, model: Model) -> LayerInfo:
        shape = tuple(layer.spatial_shape) if layer.spatial_shape else None
        return LayerInfo(model.name, layer.name, layer.kind, layer.channels, shape, layer.order)

    def feature(self, address: str) -> FeatureInfo:
        with self._reading() as session:
            row, layer, model = get_feature(session, address)
            canonical = str(parse_feature(address))
            current = labels.current(session, row.id)
            label = labels.info(current, canonical, labels.author_name(session, current)) if current else None
            return FeatureInfo(canonical, row.kind, model.name, layer.name, row.channel, row.name, label)

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
        try:
            with self._writing() as session:
                return labels.append(
                    session, address, text, status, confidence, self._author(session, author),
                    expected_version, reason,
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
        self, address: str, author: str | None, text: str, status: str,
        expected_version: int | None, conflict: VersionConflict,
    ) -> None:
        with self._writing() as session:
            audit.record(
                session, self._author(session, author), "label.conflict", "feature", address,
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
        with self._reading() as session:
            return labels.history(session, str(parse_feature(feature)))
