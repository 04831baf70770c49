"""Class names of output units: a model registered with its classes (``input_spec
["classes"]``, from the architecture) names the units of its logits layer.

The logits layer is the model's last layer when it is linear and has one unit per class;
any other layer's units have no class (a hidden unit of a linear layer is not a class,
and a spec whose class count does not match the layer names nothing rather than guess).
"""

from __future__ import annotations

import streamlit as st

from atlas import Catalog
from components.text import plain


def output_classes(cat: Catalog, model: str, layer: str) -> list[str] | None:
    """The class of each unit of ``model/layer`` if it is the logits layer, else None."""
    classes = (cat.model(model).input_spec or {}).get("classes")
    layers = cat.layers(model)
    if not isinstance(classes, list) or not layers:
        return None
    last = max(layers, key=lambda info: info.order)
    if last.name != layer or last.kind != "linear" or last.channels != len(classes):
        return None
    return [str(name) for name in classes]


def class_of(cat: Catalog, model: str, layer: str, channel: int | None) -> str | None:
    """The class a unit's logit scores, if it has one (directions have none)."""
    if channel is None:
        return None
    classes = output_classes(cat, model, layer)
    return classes[channel] if classes and 0 <= channel < len(classes) else None


def class_matches(cat: Catalog, query: str, limit: int = 10) -> list[tuple[str, str]]:
    """(unit address, class name) of output units whose class name contains ``query``
    (case-insensitive), over every model: how search finds a class that no label names."""
    wanted = query.strip().casefold()
    found: list[tuple[str, str]] = []
    if not wanted:
        return found
    for model in cat.models():
        layers = cat.layers(model.name)
        if not layers:
            continue
        last = max(layers, key=lambda info: info.order).name
        found += [(f"{model.name}/{last}/{i}", name)
                  for i, name in enumerate(output_classes(cat, model.name, last) or []) if wanted in name.casefold()]
    return found[:limit]


def class_caption(name: str | None) -> None:
    if name is not None:
        st.caption(f"class: {plain(name)}")
