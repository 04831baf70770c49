"""Registering a model in the catalogue, and loading a registered model for compute.

Registration loads the weights for real (safe readers only) and discovers the layers by a
forward pass before anything is written, so a bad checkpoint registers nothing. Workers
load a model by its catalogue name; the weights file must still hash to what was
registered, so results are never silently computed on other weights.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from atlas.catalog import Catalog
from atlas.device import resolve_device
from atlas.errors import InvalidInput
from atlas.models import discover_layers, load_model
from atlas.records import ModelInfo


def register_model(
    catalog: Catalog, name: str, architecture: str, weights: str | Path | None = None,
    author: str | None = None,
) -> ModelInfo:
    model, info = load_model(architecture, weights, "cpu")
    layers = discover_layers(model, info.input_shape)
    spec = info.input_spec | ({"classes": list(info.classes)} if info.classes else {})
    return catalog.add_model(
        name,
        architecture,
        layers=[{"name": l.name, "kind": l.kind, "channels": l.channels, "spatial_shape": l.spatial_shape}
                for l in layers],
        weights_sha256=info.weights_sha256,
        source=str(Path(weights).resolve()) if weights is not None else None,
        input_spec=spec,
        author=author,
    )


def load_registered(catalog: Catalog, name: str, device: str | torch.device = "auto") -> nn.Module:
    registered = catalog.model(name)
    shape = tuple(registered.input_spec["shape"]) if registered.input_spec else None
    model, info = load_model(registered.architecture, registered.source, resolve_device(device), shape)
    if registered.weights_sha256 and info.weights_sha256 != registered.weights_sha256:
        raise InvalidInput(
            f"the weights of model {name!r} ({info.weights_path}) have changed since it was registered "
            f"(sha256 {info.weights_sha256[:12]}…, registered {registered.weights_sha256[:12]}…)"
        )
    return model
