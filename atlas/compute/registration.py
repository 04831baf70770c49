"""Registering a model in the catalogue, and loading a registered model for compute.

Registration loads the weights for real (safe readers only) and discovers the layers by a
forward pass before anything is written, so a bad checkpoint registers nothing. Registering
a model imported from a bundle under its name *adopts* it (an admin's act): its imported
labels, edges and artifacts stay, and from then on it can be computed on.

Workers load a model by its catalogue name, through ``_load`` only, and compute only on
models registered on this catalogue: not on imported ones (their architecture and source
came from someone else's bundle), and not without a weights hash unless the atlas ships
the architecture. The weights file must hash to what was registered, checked before the
file is parsed, so results are never computed on other weights and a swapped file is
never read.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn

from atlas.catalog import Catalog
from atlas.catalog.records import ModelInfo
from atlas.compute.device import resolve_device
from atlas.compute.models import discover_layers, list_architectures, load_model
from atlas.compute.models.loading import WeightsMismatch
from atlas.errors import InvalidInput, NotFound


def register_model(
    catalog: Catalog, name: str, architecture: str, weights: str | Path | None = None,
    author: str | None = None,
) -> ModelInfo:
    """Register ``name`` (or adopt the imported model of that name) with its architecture
    and weights, loaded and checked here first."""
    model, info = load_model(architecture, weights, "cpu")
    layers = discover_layers(model, info.input_shape)
    spec = info.input_spec | ({"classes": list(info.classes)} if info.classes else {})
    register = catalog.adopt_model if _imported(catalog, name) else catalog.add_model
    return register(
        name,
        architecture,
        layers=[{"name": l.name, "kind": l.kind, "channels": l.channels, "spatial_shape": l.spatial_shape}
                for l in layers],
        weights_sha256=info.weights_sha256,
        source=str(Path(weights).resolve()) if weights is not None else None,
        input_spec=spec,
        author=author,
    )


def _imported(catalog: Catalog, name: str) -> bool:
    try:
        return catalog.model(name).origin is not None
    except NotFound:
        return False


def load_registered(catalog: Catalog, name: str, device: str | torch.device = "auto") -> nn.Module:
    return _load(catalog.model(name), device)[0]


def check_computable(registered: ModelInfo) -> None:
    """Refuse a model workers must not load: imported (inert metadata), or without a
    weights hash to check unless built from an architecture the atlas ships."""
    name = registered.name
    registered.check_not_imported()
    if registered.weights_sha256 is None and registered.architecture not in list_architectures():
        raise InvalidInput(
            f"model {name!r} has no weights hash and no architecture the atlas ships, so its weights "
            f"cannot be checked: register it with `atlas model add NAME --arch ARCH --weights FILE`"
        )


def _load(registered: ModelInfo, device: str | torch.device) -> tuple[nn.Module, str | None]:
    """(model, its weights file), for a computable model whose file hashes to what was
    registered (checked before the file is parsed). The weights are frozen: compute only
    reads them, and a model shared by a worker's jobs (``ModelCache``) must not collect
    gradients in them from one job to the next."""
    check_computable(registered)
    shape = tuple(registered.input_spec["shape"]) if registered.input_spec else None
    try:
        model, info = load_model(registered.architecture, registered.source, resolve_device(device), shape,
                                 expected_sha256=registered.weights_sha256)
    except WeightsMismatch as e:
        raise InvalidInput(f"the weights of model {registered.name!r} have changed since it was registered: "
                           f"{e}") from None
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
        key = (registered.name, registered.architecture, registered.source, registered.weights_sha256,
               registered.origin)
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
