"""Resolving names and addresses to rows, with errors that say what exists instead.

Shared by every part of the catalogue so that "unknown layer" reads the same everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from atlas.address import FeatureAddress, LayerAddress, as_feature, as_layer, feature_address
from atlas.db.ids import id_in
from atlas.db.models import Feature, Layer, Model, User
from atlas.errors import NotFound, PermissionDenied
from atlas.vocabulary import ROLES

MAX_LISTED = 12
ADDRESS_CHUNK = 5_000


def _choices(names: list[str]) -> str:
    if not names:
        return "none"
    shown = ", ".join(names[:MAX_LISTED])
    return shown + (f", … ({len(names)} in all)" if len(names) > MAX_LISTED else "")


def get_user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFound(
            f"unknown user {name!r}: an admin adds it with `atlas user add {name} --role curator`"
        )
    return user


def require_role(session: Session, name: str, minimum: str, action: str) -> User:
    """The user, if their role is at least ``minimum``; viewers never write."""
    user = get_user(session, name)
    if ROLES.index(user.role) < ROLES.index(minimum):
        raise PermissionDenied(
            f"user {name!r} is a {user.role} and cannot {action} (needs {minimum} or above)"
        )
    return user


def _cache(session: Session) -> dict:
    """Models, layers and features resolved in this transaction: bulk writes (seeds,
    imports) resolve thousands of addresses, many of them more than once."""
    return session.info.setdefault("atlas_lookup", {})


def get_model(session: Session, name: str) -> Model:
    cache = _cache(session)
    if ("model", name) in cache:
        return cache[("model", name)]
    model = session.scalar(select(Model).where(Model.name == name))
    if model is not None:
        cache[("model", name)] = model
    if model is None:
        names = list(session.scalars(select(Model.name).order_by(Model.name)))
        raise NotFound(f"unknown model {name!r} (models: {_choices(names)})")
    return model


def get_layer(session: Session, address: str | LayerAddress) -> tuple[Layer, Model]:
    address = as_layer(address)
    model = get_model(session, address.model)
    key = ("layer", model.id, address.layer)
    layer = _cache(session).get(key) or session.scalar(
        select(Layer).where(Layer.model_id == model.id, Layer.name == address.layer)
    )
    if layer is not None:
        _cache(session)[key] = layer
    if layer is None:
        names = list(
            session.scalars(select(Layer.name).where(Layer.model_id == model.id).order_by(Layer.order))
        )
        raise NotFound(
            f"unknown layer {address.layer!r} in model {model.name!r} (layers: {_choices(names)})"
        )
    return layer, model


def get_feature(
    session: Session, address: str | FeatureAddress, *, for_update: bool = False
) -> tuple[Feature, Layer, Model]:
    """The feature row; ``for_update`` locks it on PostgreSQL so writers of its label
    queue up (SQLite writers are already serialized by BEGIN IMMEDIATE)."""
    address = as_feature(address)
    if not for_update and ("model", address.model) not in _cache(session):
        found = _feature_in_one_query(session, address)
        if found is not None:
            return found
    layer, model = get_layer(session, address.layer_address)
    query = select(Feature).where(Feature.layer_id == layer.id)
    if address.direction is not None:
        query = query.where(Feature.name == address.direction, Feature.kind == "direction")
    else:
        if address.channel >= layer.channels:
            raise NotFound(
                f"unit {address.channel} is out of range: layer {model.name}/{layer.name} "
                f"has {layer.channels} channels (0–{layer.channels - 1})"
            )
        query = query.where(Feature.channel == address.channel)
    key = ("feature", layer.id, address.channel, address.direction)
    if for_update:
        feature = session.scalar(query.with_for_update())
    else:
        feature = _cache(session).get(key) or session.scalar(query)
    if feature is None:
        raise NotFound(f"unknown feature {address}")
    _cache(session)[key] = feature
    return feature, layer, model


def _feature_in_one_query(session: Session, address: FeatureAddress) -> tuple[Feature, Layer, Model] | None:
    """The common case (an existing feature, a cold cache) in one query instead of three;
    on a miss the step-by-step path says which part of the address is wrong."""
    query = (
        select(Feature, Layer, Model)
        .join(Layer, Layer.id == Feature.layer_id).join(Model, Model.id == Layer.model_id)
        .where(Model.name == address.model, Layer.name == address.layer)
    )
    if address.direction is not None:
        query = query.where(Feature.name == address.direction, Feature.kind == "direction")
    else:
        query = query.where(Feature.channel == address.channel)
    row = session.execute(query).first()
    if row is None:
        return None
    feature, layer, model = row
    cache = _cache(session)
    cache[("model", model.name)] = model
    cache[("layer", model.id, layer.name)] = layer
    cache[("feature", layer.id, address.channel, address.direction)] = feature
    return feature, layer, model


def addresses_of(session: Session, feature_ids: set[int]) -> dict[int, str]:
    """Addresses of many features, a few thousand ids per query (PostgreSQL takes at most
    65,535 parameters in one statement)."""
    ids = sorted(feature_ids)
    out = {}
    for start in range(0, len(ids), ADDRESS_CHUNK):
        rows = session.execute(
            select(Feature.id, Feature.kind, Feature.channel, Feature.name, Layer.name, Model.name)
            .join(Layer, Feature.layer_id == Layer.id)
            .join(Model, Layer.model_id == Model.id)
            .where(id_in(session, Feature.id, ids[start:start + ADDRESS_CHUNK]))
        )
        for fid, kind, channel, name, layer_name, model_name in rows:
            out[fid] = str(feature_address(model_name, layer_name, kind, channel, name))
    return out


def unit_ids(session: Session, layer: str | LayerAddress) -> np.ndarray:
    """Feature ids of a layer's units indexed by channel (one query once the layer is known)."""
    layer_row, _model = get_layer(session, layer)
    rows = session.execute(
        select(Feature.channel, Feature.id).where(Feature.layer_id == layer_row.id, Feature.kind == "unit")
    ).all()
    ids = np.full(layer_row.channels, -1, dtype=np.int64)
    for channel, feature_id in rows:
        ids[channel] = feature_id
    return ids


def target_ids(session: Session, layer: str | LayerAddress, units: Sequence[int],
               names: Sequence[str]) -> dict[int | str, int]:
    """Feature ids of some of a layer's units (by channel) and directions (by name): the
    rows a job's results belong to."""
    address = as_layer(layer)
    ids = unit_ids(session, address) if units else np.zeros(0, dtype=np.int64)
    out: dict[int | str, int] = {int(unit): int(ids[unit]) for unit in units}
    for name in names:
        out[name] = get_feature(session, address.direction(name))[0].id
    return out
