"""Model registry: the architectures the atlas knows by name, and torch models by
``module:factory`` from modules an admin allows.

A factory is code, and naming one imports its module and calls it: so only modules listed
in the setting ``ATLAS_ALLOWED_FACTORY_MODULES`` (comma-separated module names or package
prefixes, empty by default) can be named, checked before anything is imported. Otherwise
an architecture string from a bundle or a shared database (``os:abort``) would run in
every worker that loads it.

``load_model`` is the one door through which a model enters the atlas: it builds the model
in code, loads weights only through the safe readers of ``atlas.compute.models.loading`` and
returns it in eval mode with a ``ModelInfo`` (input spec, weights sha256) for the catalogue.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from atlas.compute.datasets.synthetic import CLASSES as DEMO_CLASSES
from atlas.compute.models import demo_cnn, inceptionv1
from atlas.compute.models.layers import LayerSpec, ModuleOutput, choose_layers, discover_layers, module_outputs
from atlas.compute.models.loading import ModelLoadError, load_weights, weights_sha256
from atlas.registry import Registry

ALLOWED_FACTORY_MODULES = "ATLAS_ALLOWED_FACTORY_MODULES"
SEED_DEMO_DIR = Path(__file__).resolve().parents[3] / "seed_data" / "demo"
GENERIC_INPUT_SHAPE = (3, 224, 224)

__all__ = ["ALLOWED_FACTORY_MODULES", "ARCHITECTURES", "GENERIC_INPUT_SHAPE", "SEED_DEMO_DIR", "Architecture",
           "LayerSpec", "ModelInfo",
           "ModelLoadError", "ModuleOutput", "allowed_factory_modules", "build_model", "choose_layers",
           "discover_layers", "get_architecture", "list_architectures", "load_model", "module_outputs",
           "register_architecture", "weights_sha256"]


@dataclass(frozen=True)
class Architecture:
    """A named way to build a model. ``default_weights`` is used when no file is given
    (the shipped demo weights); without one, a weights file is required."""

    name: str
    build: Callable[[], nn.Module]
    input_shape: tuple[int, int, int]
    description: str
    classes: tuple[str, ...] | None = None
    default_weights: Path | None = None


@dataclass
class ModelInfo:
    """What the catalogue records about a loaded model."""

    architecture: str
    input_shape: tuple[int, ...]
    value_range: tuple[float, float]
    weights_path: str | None
    weights_sha256: str | None
    classes: tuple[str, ...] | None

    @property
    def input_spec(self) -> dict:
        """JSON-ready input description: channels-first shape, RGB, value range."""
        return {"shape": list(self.input_shape), "color": "RGB",
                "value_range": list(self.value_range)}

    def to_dict(self) -> dict:
        return {**asdict(self), "input_spec": self.input_spec}


ARCHITECTURES: Registry[Architecture] = Registry("architecture", hint=", or module:factory")
"""The architectures known by name (``atlas.registry``: one pattern for every extension point)."""


def register_architecture(arch: Architecture) -> Architecture:
    """Make ``arch`` loadable by its name (a name is taken once)."""
    return ARCHITECTURES.register(arch.name, arch)


register_architecture(Architecture("inceptionv1", inceptionv1.InceptionV1,
                                   (3, inceptionv1.INPUT_SIZE, inceptionv1.INPUT_SIZE),
                                   "InceptionV1 (GoogLeNet) with Lucid's layer names; Lucent weights"))
for _name, _widths in demo_cnn.DEMO_WIDTHS.items():
    register_architecture(Architecture(_name, lambda widths=_widths: demo_cnn.DemoCNN(widths),
                                       (3, demo_cnn.INPUT_SIZE, demo_cnn.INPUT_SIZE),
                                       f"demo CNN, widths {_widths}, trained on the synthetic shapes",
                                       DEMO_CLASSES, SEED_DEMO_DIR / f"{_name}.safetensors"))
del _name, _widths


def list_architectures() -> list[str]:
    return ARCHITECTURES.names()


def get_architecture(name: str) -> Architecture:
    return ARCHITECTURES.get(name)


def allowed_factory_modules() -> list[str]:
    """The modules and package prefixes named in ``ATLAS_ALLOWED_FACTORY_MODULES``."""
    return [name.strip().rstrip(".") for name in os.environ.get(ALLOWED_FACTORY_MODULES, "").split(",")
            if name.strip().rstrip(".")]


def _check_factory_allowed(spec: str, module_name: str, attr: str) -> None:
    """Refuse a factory outside the allowed modules, before anything is imported."""
    if not all(part.isidentifier() for part in (*module_name.split("."), attr)):
        raise ModelLoadError(f"invalid factory {spec!r}: use package.module:function")
    allowed = allowed_factory_modules()
    if not any(module_name == prefix or module_name.startswith(prefix + ".") for prefix in allowed):
        raise ModelLoadError(f"factory {spec} is not allowed: an admin allows its module with the setting "
                             f"{ALLOWED_FACTORY_MODULES} (now {', '.join(allowed) or 'empty'})")


def _build_from_factory(spec: str) -> nn.Module:
    """Import an allowed ``module:factory`` and call it without arguments."""
    module_name, _, attr = spec.partition(":")
    _check_factory_allowed(spec, module_name, attr)
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except Exception as e:  # noqa: BLE001 - a module that fails to import, whatever the reason
        raise ModelLoadError(f"cannot import factory {spec}: {type(e).__name__}: {e}") from None
    if not callable(factory):
        raise ModelLoadError(f"{spec} is not callable")
    try:
        model = factory()
    except Exception as e:  # noqa: BLE001 - a class that needs arguments, a factory that fails
        raise ModelLoadError(f"factory {spec} failed: {type(e).__name__}: {str(e).strip()[:200]}") from None
    if not isinstance(model, nn.Module):
        raise ModelLoadError(f"{spec} returned a {type(model).__name__}, not a torch.nn.Module")
    return model


def build_model(arch_or_factory: str) -> tuple[nn.Module, tuple[int, int, int], tuple[str, ...] | None, Path | None]:
    """(the model as its code builds it, with no weights loaded; its default input shape;
    its class names; its shipped weights) for a registered name or an allowed
    ``package.module:factory``. Listing a model's modules needs no weights."""
    if ":" in arch_or_factory:
        return _build_from_factory(arch_or_factory), GENERIC_INPUT_SHAPE, None, None
    arch = get_architecture(arch_or_factory)
    return arch.build(), arch.input_shape, arch.classes, arch.default_weights


def load_model(arch_or_factory: str, weights: str | Path | None = None,
               device: str | torch.device = "cpu",
               input_shape: tuple[int, int, int] | None = None,
               expected_sha256: str | None = None) -> tuple[nn.Module, ModelInfo]:
    """Build ``arch_or_factory`` (a registered name, or ``package.module:factory`` called
    without arguments), load ``weights`` strictly and move it to ``device`` in eval mode.

    A registered architecture without ``weights`` uses its shipped weights if it has any;
    a factory without weights is used as it builds itself. ``input_shape`` (C, H, W)
    overrides the architecture's; factories default to 3x224x224. With ``expected_sha256``
    (what the weights were registered with), weights that do not hash to it are refused
    before they are parsed. Raises ``NotFound`` or ``ModelLoadError`` (an
    ``InvalidInput``), never returning a partly loaded model.
    """
    if ":" not in arch_or_factory:  # a shipped name: a missing weights file is refused before building
        arch = get_architecture(arch_or_factory)
        if weights is None and arch.default_weights is None:
            raise ModelLoadError(f"{arch.name} needs a weights file (nothing is downloaded)")
    model, default_shape, classes, default_weights = build_model(arch_or_factory)
    weights = weights if weights is not None else default_weights
    shape = input_shape or default_shape
    if weights is None and expected_sha256 is not None:
        raise ModelLoadError(f"{arch_or_factory} was registered with weights, but no weights file is given")
    digest = load_weights(model, weights, expected_sha256) if weights is not None else None
    model.to(device).eval()
    info = ModelInfo(arch_or_factory, tuple(shape), (0.0, 1.0),
                     str(weights) if weights is not None else None, digest, classes)
    return model, info
