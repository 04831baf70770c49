"""Which layers of a model are worth studying, with their channel counts and map sizes.

Found by running one dummy forward pass with hooks, because shapes (and which modules run
at all) are only known from the forward pass. A model may name its studied layers itself
with an ``atlas_layers`` attribute (``{name: kind}``; InceptionV1 lists Lucid's names);
otherwise every conv, linear and concatenation module that runs is a layer, named by its
module path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from atlas.compute.capture import eval_mode, model_device
from atlas.compute.hooks import tap
from atlas.errors import InvalidInput

LayerKind = Literal["conv", "linear", "concat"]
_CONCAT_CLASSES = ("Concat", "CatLayer", "Cat")


@dataclass(frozen=True)
class LayerSpec:
    """A studied layer: its module path, kind, output channels, output map size (None for
    a layer without spatial axes) and its position in the forward pass (0 first)."""

    name: str
    kind: LayerKind
    channels: int
    spatial_shape: tuple[int, ...] | None
    order: int


def _kind(module: nn.Module) -> LayerKind | None:
    if isinstance(module, nn.modules.conv._ConvNd):
        return "conv"
    if isinstance(module, nn.Linear):
        return "linear"
    if type(module).__name__ in _CONCAT_CLASSES:
        return "concat"
    return None


def candidate_layers(model: nn.Module) -> dict[str, LayerKind]:
    """``{module path: kind}`` of the layers to study, before checking that they run."""
    declared = getattr(model, "atlas_layers", None)
    if declared is not None:
        return dict(declared)
    found = {name: _kind(m) for name, m in model.named_modules() if name}
    return {name: kind for name, kind in found.items() if kind is not None}


@torch.no_grad()
def discover_layers(model: nn.Module, input_shape: tuple[int, ...]) -> list[LayerSpec]:
    """The studied layers of ``model`` for one input of ``input_shape`` (C, H, W), in the
    order they run. Layers that do not run in the forward pass are left out."""
    modules = dict(model.named_modules())
    candidates = candidate_layers(model)
    unknown = [name for name in candidates if name not in modules]
    if unknown:
        raise InvalidInput(f"model declares layers it does not have: {', '.join(unknown[:5])}")

    def output_shape(_name: str, output: object) -> torch.Size | None:
        return output.shape if isinstance(output, torch.Tensor) else None

    try:
        with tap(model, list(candidates), keep=output_shape, repeat="first") as taps, eval_mode(model):
            model(torch.zeros(1, *input_shape, device=model_device(model)))
    except Exception as e:  # noqa: BLE001 - whatever the model raises, the user gets one line
        raise InvalidInput(f"a forward pass on an input of shape {tuple(input_shape)} "
                           f"failed: {type(e).__name__}: {e}") from None
    shapes: dict[str, torch.Size] = taps.outputs
    return [LayerSpec(name, candidates[name], int(shape[1]) if len(shape) > 1 else 1,
                      tuple(int(s) for s in shape[2:]) or None, order)
            for order, (name, shape) in enumerate(shapes.items())]
