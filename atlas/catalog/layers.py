"""Registering layers: a layer row and one unit feature per channel, inserted together.

Units exist as rows from the moment their layer does, so every valid address resolves
and labels, edges and artifacts can refer to any unit without creating it first.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from atlas.address import check_name
from atlas.db.models import Feature, Layer, Model
from atlas.errors import InvalidInput


def insert_layer(
    session: Session,
    model: Model,
    name: str,
    kind: str,
    channels: int,
    spatial_shape: Sequence[int] | None = None,
    order: int = 0,
) -> Layer:
    check_name(name, "layer")
    if not isinstance(channels, int) or channels < 1:
        raise InvalidInput(f"layer {name!r} needs a positive channel count, got {channels!r}")
    if session.scalar(select(Layer.id).where(Layer.model_id == model.id, Layer.name == name)) is not None:
        raise InvalidInput(f"model {model.name!r} already has a layer {name!r}")
    layer = Layer(
        model_id=model.id, name=name, kind=kind, channels=channels,
        spatial_shape=list(spatial_shape) if spatial_shape else None, order=order,
    )
    session.add(layer)
    session.flush()
    session.execute(
        insert(Feature), [{"layer_id": layer.id, "kind": "unit", "channel": c} for c in range(channels)]
    )
    return layer


def adopt_layers(session: Session, model: Model, layers: Sequence[dict]) -> None:
    """Give an imported model's layers what was discovered by loading it here (kind,
    spatial shape), after checking they are the same layers: same names, same channels.
    Its labels, edges and artifacts are addressed by layer and unit, so a model with other
    layers is another model, refused with the first differences named."""
    rows = {layer.name: layer for layer in session.scalars(select(Layer).where(Layer.model_id == model.id))}
    found = {spec["name"]: spec for spec in layers}
    problems = [f"{name} has {rows[name].channels} channels in the catalogue, {spec['channels']} here"
                for name, spec in found.items() if name in rows and rows[name].channels != spec["channels"]]
    missing, extra = sorted(set(rows) - set(found)), sorted(set(found) - set(rows))
    if missing:
        problems.append(f"not in the model loaded here: {', '.join(missing[:5])}")
    if extra:
        problems.append(f"not in the imported model: {', '.join(extra[:5])}")
    if problems:
        raise InvalidInput(f"the layers of model {model.name!r} do not match the imported ones: "
                           + "; ".join(problems[:5]))
    for name, spec in found.items():
        rows[name].kind = spec["kind"]
        rows[name].spatial_shape = list(spec["spatial_shape"]) if spec.get("spatial_shape") else None
