"""Registering a model in the catalogue, and loading a registered model for compute.

Registration loads the weights for real (safe readers only) and discovers the layers by a
forward pass before anything is written, so a bad checkpoint registers nothing. Workers
load a model by its catalogue name; the weights file must still hash to what was
registered, so results are never silently computed on other weights.
"""

from __future__ import annotations

import os
from collections import OrderedDict
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
    return _load(catalog.model(name), device)[0]


def _load(registered: ModelInfo, device: str | torch.device) -> tuple[nn.Module, str | None]:
    """(model, its weights file) after checking the file still hashes to what was registered.
    The weights are frozen: compute only reads them, and a model shared by a worker's jobs
    (``ModelCache``) must not collect gradients in them from one job to the next."""
    shape = tuple(registered.input_spec["shape"]) if registered.input_spec else None
    model, info = load_model(registered.architecture, registered.source, resolve_device(device), shape)
    if registered.weights_sha256 and info.weights_sha256 != registered.weights_sha256:
        raise InvalidInput(
            f"the weights of model {registered.name!r} ({info.weights_path}) have changed since it was "
            f"registered (sha256 {info.weights_sha256[:12]}…, registered {registered.weights_sha256[:12]}…)"
        )
    return model.requires_grad_(False), info.weights_path


def _file_state(path: str | None) -> tuple[int, int] | None:
    if path is None:
        return None
    stat = os.stat(path)
    return stat.st_size, stat.st_mtime_ns


class ModelCache:
    """Registered models loaded once per worker, most recently used kept: a job over a few
    units would otherwise spend as long loading InceptionV1 (its weights read, hashed and
    copied to the GPU) as computing. A model is loaded again, and its hash checked again,
    when its registration or its weights file (size, modification time) changes. Job
    handlers share the cached model, so they must not change its weights."""

    def __init__(self, catalog: Catalog, device: str | torch.device, size: int = 2):
        self.catalog, self.device, self.size = catalog, device, size
        self._models: OrderedDict[tuple, tuple[nn.Module, str | None, tuple[int, int] | None]] = OrderedDict()

    def get(self, name: str) -> nn.Module:
        registered = self.catalog.model(name)
        key = (registered.name, registered.architecture, registered.source, registered.weights_sha256)
        cached = self._models.get(key)
        if cached is not None and _file_state(cached[1]) == cached[2]:
            self._models.move_to_end(key)
            return cached[0]
        model, path = _load(registered, self.device)
        self._models[key] = model, path, _file_state(path)
        self._models.move_to_end(key)
        while len(self._models) > self.size:
            self._models.popitem(last=False)
        return model
