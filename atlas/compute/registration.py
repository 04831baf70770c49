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
never read. ``_load`` also gives the model its registered preprocessing
(``atlas.compute.models.preprocess``), so every job, whatever it feeds the model, feeds
it what the model was registered to expect.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from atlas.catalog import Catalog
from atlas.catalog.records import ModelInfo
from atlas.compute.device import resolve_device
from atlas.compute.input_spec import build_input_spec, check_input_spec, check_shape
from atlas.compute.models import (
    GENERIC_INPUT_SHAPE,
    ModuleOutput,
    build_model,
    choose_layers,
    discover_layers,
    list_architectures,
    load_model,
    module_outputs,
)
from atlas.compute.models.loading import WeightsMismatch
from atlas.compute.models.preprocess import attach_preprocessing
from atlas.errors import InvalidInput, NotFound


def register_model(
    catalog: Catalog, name: str, architecture: str, weights: str | Path | None = None,
    author: str | None = None, *, input_shape: Sequence[int] | None = None,
    preprocess: dict | None = None, layers: Sequence[str] | None = None,
) -> ModelInfo:
    """Register ``name`` (or adopt the imported model of that name) with its architecture
    and weights, loaded and checked here first.

    ``input_shape`` (C, H, W; default the architecture's), ``preprocess`` (a spec of
    ``atlas.compute.input_spec``: the model's first step on [0, 1] images) and ``layers``
    (module globs choosing its layers) are stored in its input spec. Adopting an imported
    model takes those it does not get from its imported spec, so it finds the same layers."""
    imported = _imported_spec(catalog, name)
    if imported is not None:
        input_shape = input_shape if input_shape is not None else imported.get("shape")
        preprocess = preprocess if preprocess is not None else imported.get("preprocess")
        layers = layers if layers is not None else imported.get("layers")
    shape = check_shape(input_shape) if input_shape is not None else None
    model, info = load_model(architecture, weights, "cpu", shape)
    spec = build_input_spec(info.input_shape, preprocess, layers, info.classes)
    attach_preprocessing(model, spec.get("preprocess"))
    found = discover_layers(model, spec["shape"], spec.get("layers"))
    register = catalog.adopt_model if imported is not None else catalog.add_model
    return register(
        name,
        architecture,
        layers=[{"name": l.name, "kind": l.kind, "channels": l.channels, "spatial_shape": l.spatial_shape}
                for l in found],
        weights_sha256=info.weights_sha256,
        source=str(Path(weights).resolve()) if weights is not None else None,
        input_spec=spec,
        author=author,
    )


def _imported_spec(catalog: Catalog, name: str) -> dict | None:
    """The input spec of the imported model ``name`` ({} if it has none), or None if no
    imported model has that name."""
    try:
        registered = catalog.model(name)
    except NotFound:
        return None
    return (check_input_spec(registered.input_spec) or {}) if registered.origin is not None else None


@dataclass(frozen=True)
class Offer:
    """What a model offers as layers: every module that runs, with its output, at the
    input ``shape`` and ``preprocess`` used, and which of them are (or would be) its
    layers."""

    shape: tuple[int, int, int]
    preprocess: dict | None
    outputs: list[ModuleOutput]
    layers: tuple[str, ...]


def offered_layers(architecture: str, weights: str | Path | None = None, input_shape: Sequence[int] | None = None,
                   preprocess: dict | None = None, patterns: Sequence[str] | None = None) -> Offer:
    """What an unregistered model offers, and the layers registering it with ``patterns``
    would choose. Shapes need no weights; given weights are loaded (and checked) all the
    same, so a listing that works is a registration that loads."""
    shape = check_shape(input_shape) if input_shape is not None else None
    if weights is not None:
        model, info = load_model(architecture, weights, "cpu", shape)
        default_shape = info.input_shape
    else:
        model, default_shape, _, _ = build_model(architecture)
        model.eval()
    spec = build_input_spec(shape or default_shape, preprocess, patterns)
    attach_preprocessing(model, spec.get("preprocess"))
    outputs = module_outputs(model, spec["shape"])
    chosen = choose_layers(model, outputs, spec.get("layers"))
    return Offer(check_shape(spec["shape"]), spec.get("preprocess"), outputs, tuple(l.name for l in chosen))


def registered_offer(catalog: Catalog, name: str) -> Offer:
    """What the registered model ``name`` offers at its input shape, and its layers."""
    registered = catalog.model(name)
    model = _load(registered, "cpu")[0]
    spec = check_input_spec(registered.input_spec) or {}
    shape = check_shape(spec.get("shape", GENERIC_INPUT_SHAPE))
    return Offer(shape, spec.get("preprocess"), module_outputs(model, shape),
                 tuple(layer.name for layer in catalog.layers(name)))


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
    spec = check_input_spec(registered.input_spec) or {}
    shape = check_shape(spec["shape"]) if "shape" in spec else None
    try:
        model, info = load_model(registered.architecture, registered.source, resolve_device(device), shape,
                                 expected_sha256=registered.weights_sha256)
    except WeightsMismatch as e:
        raise InvalidInput(f"the weights of model {registered.name!r} have changed since it was registered: "
                           f"{e}") from None
    attach_preprocessing(model, spec.get("preprocess"))
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
               registered.origin, json.dumps(registered.input_spec, sort_keys=True))
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
