"""Which modules of a model are the atlas's layers, with their channel counts and map sizes.

Found by running one dummy forward pass with hooks on every module, because shapes (and
which modules run at all, and how often) are only known from the forward pass:
:func:`module_outputs` lists what every module that runs outputs, which is what
``atlas model layers`` shows before a user chooses.

The layers are then, in this order of precedence:

1. the modules whose paths match the ``--layers`` globs (``fnmatch``: ``features.*.conv.2``,
   ``layer*.*.relu``), of any type, as long as each outputs a tensor with channels and
   runs once per forward pass (which call a layer means would otherwise be ambiguous); a
   pattern that matches nothing is an error naming it;
2. the names a model declares itself in an ``atlas_layers`` attribute (``{name: kind}``;
   InceptionV1 lists Lucid's names);
3. every conv, linear and concatenation module that runs, named by its module path.

A layer's kind says what its module is (``conv``, ``linear``, ``concat``, ``activation``,
``norm``, ``pool``, ``block`` for a module with submodules, ``module`` otherwise); it is
description only: compute reads the modules themselves (``atlas.compute.preactivation``
finds a layer's pre-activation by its module, direct weights refuse a pair that no
convolution connects).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Literal

import torch
from torch import nn

from atlas.compute.capture import eval_mode, model_device
from atlas.compute.hooks import tap
from atlas.compute.input_spec import check_layer_patterns
from atlas.compute.preactivation import ACTIVATIONS
from atlas.errors import InvalidInput

LayerKind = Literal["conv", "linear", "concat", "activation", "norm", "pool", "block", "module"]
_CONCAT_CLASSES = ("Concat", "CatLayer", "Cat")
_NORMS = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm, nn.LocalResponseNorm)
_POOLS = (nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd,
          nn.modules.pooling._AdaptiveAvgPoolNd, nn.modules.pooling._AdaptiveMaxPoolNd)
_SHOWN = 5  # names shown in an error


@dataclass(frozen=True)
class LayerSpec:
    """A studied layer: its module path, kind, output channels, output map size (None for
    a layer without spatial axes) and its position in the forward pass (0 first)."""

    name: str
    kind: LayerKind
    channels: int
    spatial_shape: tuple[int, ...] | None
    order: int


@dataclass(frozen=True)
class ModuleOutput:
    """What one module output in the dummy forward pass: ``shape`` without the batch axis
    (None if it is not a tensor: then ``output`` names its type), how many times it ran,
    and its place among the modules in the order they first ran."""

    name: str
    type: str
    kind: LayerKind
    shape: tuple[int, ...] | None
    output: str
    calls: int
    order: int

    @property
    def channels(self) -> int | None:
        """Channels (axis 1 of the batched output), or None for an output without them."""
        return self.shape[0] if self.shape else None

    @property
    def spatial_shape(self) -> tuple[int, ...] | None:
        return (self.shape[1:] or None) if self.shape else None

    def as_layer(self, kind: LayerKind, order: int) -> LayerSpec:
        return LayerSpec(self.name, kind, self.channels or 1, self.spatial_shape, order)


def module_kind(module: nn.Module) -> LayerKind:
    if isinstance(module, nn.modules.conv._ConvNd):
        return "conv"
    if isinstance(module, nn.Linear):
        return "linear"
    if type(module).__name__ in _CONCAT_CLASSES:
        return "concat"
    if isinstance(module, ACTIVATIONS):
        return "activation"
    if isinstance(module, _NORMS):
        return "norm"
    if isinstance(module, _POOLS):
        return "pool"
    return "block" if next(module.children(), None) is not None else "module"


def candidate_layers(model: nn.Module) -> dict[str, LayerKind]:
    """``{module path: kind}`` of the layers studied by default (rules 2 and 3 of the
    module doc), before checking that they run."""
    declared = getattr(model, "atlas_layers", None)
    if declared is not None:
        return dict(declared)
    found = {name: module_kind(m) for name, m in model.named_modules() if name}
    return {name: kind for name, kind in found.items() if kind in ("conv", "linear", "concat")}


@torch.no_grad()
def module_outputs(model: nn.Module, input_shape: Sequence[int]) -> list[ModuleOutput]:
    """What every named module of ``model`` that runs outputs for one blank input of
    ``input_shape`` (C, H, W), in the order the modules first run. A model that fails the
    forward pass is one line naming the shape and the error."""
    modules = {name: m for name, m in model.named_modules() if name}
    calls: dict[str, int] = dict.fromkeys(modules, 0)

    def describe(name: str, output: object) -> tuple[tuple[int, ...] | None, str]:
        calls[name] += 1
        if isinstance(output, torch.Tensor):
            return tuple(int(s) for s in output.shape[1:]), "tensor"
        return None, type(output).__name__

    try:
        with tap(model, list(modules), keep=describe, repeat="first") as taps, eval_mode(model):
            model(torch.zeros(1, *input_shape, device=model_device(model)))
    except Exception as e:  # noqa: BLE001 - whatever the model raises, the user gets one line
        message = " ".join(str(e).split())[:300]
        raise InvalidInput(f"a forward pass on an input of shape {tuple(input_shape)} "
                           f"failed: {type(e).__name__}: {message}") from None
    return [ModuleOutput(name, type(modules[name]).__name__, module_kind(modules[name]), shape, output,
                         calls[name], order)
            for order, (name, (shape, output)) in enumerate(taps.outputs.items())]


def choose_layers(model: nn.Module, outputs: Sequence[ModuleOutput],
                  patterns: Sequence[str] | None = None) -> list[LayerSpec]:
    """The layers among ``outputs`` (of :func:`module_outputs`): those ``patterns`` match,
    or by default the declared or conv/linear/concat modules (see the module doc)."""
    if patterns is not None:
        return _matching(model, outputs, check_layer_patterns(patterns))
    modules = dict(model.named_modules())
    candidates = candidate_layers(model)
    unknown = [name for name in candidates if name not in modules]
    if unknown:
        raise InvalidInput(f"model declares layers it does not have: {', '.join(unknown[:_SHOWN])}")
    ran = [o for o in outputs if o.name in candidates and o.shape is not None]
    return [o.as_layer(candidates[o.name], order) for order, o in enumerate(ran)]


def _matching(model: nn.Module, outputs: Sequence[ModuleOutput], patterns: list[str]) -> list[LayerSpec]:
    names = [name for name, _ in model.named_modules() if name]
    unmatched = [p for p in patterns if not any(fnmatchcase(name, p) for name in names)]
    if unmatched:
        raise InvalidInput(f"layer patterns match no module: {', '.join(unmatched[:_SHOWN])} "
                           f"(`atlas model layers` lists the modules)")
    idle = [p for p in patterns if not any(fnmatchcase(o.name, p) for o in outputs)]
    if idle:
        raise InvalidInput(f"layer patterns match only modules that do not run in a forward pass: "
                           f"{', '.join(idle[:_SHOWN])}")
    chosen = [o for o in outputs if any(fnmatchcase(o.name, p) for p in patterns)]
    flat = [o for o in chosen if not o.shape]
    if flat:
        what = ", ".join(f"{o.name} ({'a ' + o.output if o.shape is None else 'no channel axis'})"
                         for o in flat[:_SHOWN])
        raise InvalidInput(f"a layer must output a tensor with channels; these do not: {what}")
    repeated = [o for o in chosen if o.calls > 1]
    if repeated:
        what = ", ".join(f"{o.name} ({o.calls} times)" for o in repeated[:_SHOWN])
        raise InvalidInput(f"a layer must run once per forward pass (which run is meant would be ambiguous); "
                           f"these run more often: {what}")
    return [o.as_layer(o.kind, order) for order, o in enumerate(chosen)]


def discover_layers(model: nn.Module, input_shape: Sequence[int],
                    patterns: Sequence[str] | None = None) -> list[LayerSpec]:
    """The layers of ``model`` for one input of ``input_shape`` (C, H, W), in the order
    they run: those ``patterns`` select, or the default ones. Layers that do not run in
    the forward pass are left out."""
    return choose_layers(model, module_outputs(model, input_shape), patterns)
