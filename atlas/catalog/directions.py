"""Direction features on a ``Session``: inserting one (its vector as a blob) and finding
a layer's directions. Shared by ``Catalog.add_direction`` and the jobs that compute
directions (difference of means, factorization), which write theirs when they complete."""

from __future__ import annotations

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from atlas.address import FeatureAddress, LayerAddress, check_name
from atlas.catalog.resolve import get_feature, get_layer
from atlas.db.blobs import BlobStore
from atlas.db.models import Feature
from atlas.errors import InvalidInput


def checked_vector(vector: object, channels: int, where: str) -> np.ndarray:
    """``vector`` as float32 if it is ``channels`` finite numbers, else one line."""
    try:
        with np.errstate(over="ignore"):  # a number beyond float32 becomes inf, refused below
            array = np.asarray(vector, dtype=np.float32)
    except (TypeError, ValueError):
        raise InvalidInput(f"a direction in {where} must be {channels} finite numbers") from None
    finite = bool(np.all(np.isfinite(array)))
    if array.shape != (channels,) or not finite:
        raise InvalidInput(
            f"a direction in {where} must be {channels} finite numbers, got shape {array.shape}"
            + ("" if finite else " with NaN or infinite values")
        )
    return array


def insert(session: Session, blobs: BlobStore, layer: LayerAddress, name: str,
           vector: object) -> tuple[FeatureAddress, str]:
    """Add direction ``name`` to ``layer``; returns its address and its vector's sha256.
    A taken name or a vector of the wrong shape is one line, and nothing is written."""
    check_name(name, "direction")
    layer_row, _model = get_layer(session, layer)
    array = checked_vector(vector, layer_row.channels, str(layer))
    sha = blobs.put_array(array)
    session.add(Feature(layer_id=layer_row.id, kind="direction", name=name, vector_sha256=sha))
    try:
        session.flush()
    except IntegrityError:  # the caller's transaction is rolled back with this error
        raise InvalidInput(f"layer {layer} already has a direction {name!r}") from None
    return layer.direction(name), sha


def names(session: Session, layer: LayerAddress) -> list[str]:
    """The names of ``layer``'s directions, sorted."""
    layer_row, _model = get_layer(session, layer)
    return list(session.scalars(select(Feature.name).where(Feature.layer_id == layer_row.id,
                                                           Feature.kind == "direction").order_by(Feature.name)))


def vector_sha(session: Session, address: FeatureAddress) -> str:
    """The sha256 of a direction's vector blob (one line if the address is a unit)."""
    if address.direction is None:
        raise InvalidInput(f"{address} is a unit, not a direction")
    return str(get_feature(session, address)[0].vector_sha256)
