"""A registered model's preprocessing, made part of the model.

The atlas feeds RGB images in [0, 1] (``atlas.compute.input_spec``). A model registered
with ``--preprocess imagenet``, ``--mean/--std`` or ``--scale`` gets that conversion as a
forward pre-hook on its root module, run before any other hook: every forward pass
(capture, dataset examples, feature visualization, attribution, experiments, tuning,
layer discovery) sees the preprocessed image, while module names, and so layer names and
the hooks of ``atlas.compute.hooks``, stay what they were. Gradients flow through it, so
an optimized image is optimized in [0, 1] pixel space.

Weights between two layers do not depend on it: direct weights are the model's kernels,
and expanded weights replace the source layer's output, so nothing before it (the
preprocessing included) enters their gradients; the operating points they take from a
dataset come from ordinary forward passes, preprocessing included.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from atlas.compute.input_spec import affine
from atlas.errors import InvalidInput

_ATTACHED = "_atlas_preprocess"


class _Affine:
    """``x * factor + offset`` per channel (axis 1), on the input's device and dtype."""

    def __init__(self, preprocess: dict):
        factor, offset = affine(preprocess)
        self.preprocess = preprocess
        self.factor = torch.tensor(factor).view(1, -1, 1, 1)
        self.offset = torch.tensor(offset).view(1, -1, 1, 1)

    def __call__(self, _module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        if not args or not isinstance(args[0], torch.Tensor):
            return None
        x = args[0]
        if x.dim() != 4 or x.shape[1] != self.factor.shape[1]:
            raise InvalidInput(f"the model's preprocessing takes N x {self.factor.shape[1]} x H x W images, "
                               f"not {tuple(x.shape)}")
        factor = self.factor.to(device=x.device, dtype=x.dtype)
        offset = self.offset.to(device=x.device, dtype=x.dtype)
        return (x * factor + offset, *args[1:])


def attach_preprocessing(model: nn.Module, preprocess: dict | None) -> nn.Module:
    """``model`` with ``preprocess`` (a checked spec, or None for none) as its first step;
    a model gets it once."""
    if not preprocess:
        return model
    if getattr(model, _ATTACHED, None) is not None:
        raise InvalidInput("this model already has its preprocessing")
    hook = _Affine(preprocess)
    model.register_forward_pre_hook(hook, prepend=True)
    setattr(model, _ATTACHED, hook.preprocess)
    return model


def preprocessing_of(model: nn.Module) -> dict | None:
    """The preprocessing attached to ``model``, if any."""
    return getattr(model, _ATTACHED, None)
