"""Users, models (registered and adopted), layers, directions and features: what every
address in the catalogue names. Part of the Catalog API (mixed into ``atlas.catalog.Catalog``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sqlalchemy import func, select

from atlas.address import FeatureAddress, LayerAddress, as_feature, as_layer, check_name, check_user_name
from atlas.catalog import audit, directions, labels
from atlas.catalog.layers import adopt_layers, insert_layer
from atlas.catalog.records import FeatureInfo, LayerInfo, ModelInfo, UserInfo
from atlas.catalog.resolve import get_feature, get_layer, get_model, get_user, require_role
from atlas.db.models import Layer, Model, User
from atlas.errors import InvalidInput
from atlas.vocabulary import ROLES

MODEL_FIELDS = ("name", "architecture", "weights_sha256", "source", "input_spec")
ADOPTED_FIELDS = ("architecture", "weights_sha256", "source", "input_spec", "origin")


class UsersModelsMixin:
    """Mixed into :class:`atlas.catalog.Catalog`; uses its sessions and acting user."""

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

    def set_role(self, name: str, role: str, by: str | None = None) -> UserInfo:
        """Change a user's role: an admin's decision, audited with the role before and
        after. The last admin cannot lose the role, or nobody could add users again."""
        if role not in ROLES:
            raise InvalidInput(f"unknown role {role!r} (one of {', '.join(ROLES)})")
        with self._writing() as session:
            actor = require_role(session, self._author(session, by), "admin", "change roles")
            user = get_user(session, name)
            if user.role == role:
                raise InvalidInput(f"user {name!r} is already a {role}")
            admins = session.scalar(select(func.count(User.id)).where(User.role == "admin"))
            if user.role == "admin" and admins == 1:
                raise InvalidInput(f"user {name!r} is the last admin: make another user an admin first")
            before = {"role": user.role}
            user.role = role
            audit.record(session, actor.name, "user.set_role", "user", name, before, {"role": role})
        return UserInfo(name, role)

    def users(self) -> list[UserInfo]:
        with self._reading() as session:
            return [UserInfo(u.name, u.role) for u in session.scalars(select(User).order_by(User.name))]

    def get_user(self, name: str | None = None) -> UserInfo:
        with self._reading() as session:
            user = get_user(session, name or self.user)
            return UserInfo(user.name, user.role)

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
        with self._writing() as session:
            actor = require_role(session, self._author(session, author), "curator", "add directions")
            address, sha = directions.insert(session, self.blobs, as_layer(layer), name, vector)
            audit.record(session, actor.name, "feature.add_direction", "feature", str(address), None,
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

    def layer(self, address: str | LayerAddress) -> LayerInfo:
        address = as_layer(address)
        with self._reading() as session:
            return self._layer_info(*get_layer(session, address))

    @staticmethod
    def _layer_info(layer: Layer, model: Model) -> LayerInfo:
        shape = tuple(layer.spatial_shape) if layer.spatial_shape else None
        return LayerInfo(model.name, layer.name, layer.kind, layer.channels, shape, layer.order)

    def feature(self, address: str | FeatureAddress) -> FeatureInfo:
        address = as_feature(address)
        with self._reading() as session:
            row, layer, model = get_feature(session, address)
            canonical = str(address)
            current = labels.current(session, row.id)
            label = labels.info(current, canonical, labels.author_name(session, current)) if current else None
            return FeatureInfo(canonical, row.kind, model.name, layer.name, row.channel, row.name, label)
