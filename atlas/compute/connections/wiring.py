"""Which convolution weights connect one layer to the next, found by tracing one forward pass.

Direct weights need the wiring: which conv produces a channel of the destination (for a
concatenation such as an Inception block, which slice of the output comes from which
branch) and which channels of the source that conv reads (a conv may read a slice of a
concatenation, or the concatenation whole). The forward code knows this but does not say
it, so we follow channels through a forward pass: every named module tags the channels of
its output, channel-preserving ops (padding, ReLU, pooling, LRN, dropout) pass the tags
on, ``torch.cat`` along channels shifts and merges them, and every convolution records the
tags of its input. Nothing is assumed about the model's code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from atlas.compute.capture import model_device

_PASS_THROUGH = {
    F.pad, F.relu, torch.relu, torch.Tensor.relu, F.max_pool2d, F.avg_pool2d,
    F.local_response_norm, F.dropout, torch.Tensor.contiguous, torch.Tensor.clone,
}


@dataclass(frozen=True)
class Piece:
    """Channels ``[start, start + count)`` of a tensor are channels
    ``[layer_start, layer_start + count)`` of the output of module ``layer``."""

    layer: str
    start: int
    layer_start: int
    count: int


@dataclass(frozen=True)
class Wiring:
    """For every conv module: the pieces of its input; for every module: of its output."""

    conv_inputs: dict[str, list[Piece]]
    outputs: dict[str, list[Piece]]


class _Tracer(TorchFunctionMode):
    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[int, tuple[torch.Tensor, list[Piece]]] = {}

    def pieces(self, tensor: torch.Tensor) -> list[Piece]:
        entry = self.tags.get(id(tensor))
        return entry[1] if entry is not None and entry[0] is tensor else []

    def tag(self, tensor: torch.Tensor, pieces: list[Piece]) -> None:
        # The tensor is kept alive with its tags so that its id is not reused.
        self.tags[id(tensor)] = (tensor, pieces)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if func in _PASS_THROUGH and isinstance(out, torch.Tensor):
            self.tag(out, self.pieces(args[0]))
        elif func is torch.cat and kwargs.get("dim", args[1] if len(args) > 1 else 0) in (1, -3):
            merged, offset = [], 0
            for t in args[0]:
                merged += [Piece(p.layer, p.start + offset, p.layer_start, p.count)
                           for p in self.pieces(t)]
                offset += t.shape[1]
            self.tag(out, merged)
        return out


@torch.no_grad()
def trace(model: nn.Module, input_size: int) -> Wiring:
    """Trace one forward pass of a blank ``input_size`` image (see module doc)."""
    tracer = _Tracer()
    conv_inputs: dict[str, list[Piece]] = {}
    outputs: dict[str, list[Piece]] = {}

    def pre_hook(name: str) -> Callable[..., None]:
        def hook(_m, args):
            conv_inputs.setdefault(name, tracer.pieces(args[0]))
        return hook

    def post_hook(name: str) -> Callable[..., None]:
        def hook(_m, _args, out):
            if isinstance(out, torch.Tensor) and out.dim() >= 2:
                own = Piece(name, 0, 0, out.shape[1])
                tracer.tag(out, [*tracer.pieces(out), own])
                outputs.setdefault(name, tracer.pieces(out))
        return hook

    handles = []
    for name, module in model.named_modules():
        if not name:
            continue
        if isinstance(module, nn.Conv2d):
            handles.append(module.register_forward_pre_hook(pre_hook(name)))
        handles.append(module.register_forward_hook(post_hook(name)))
    first = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
    try:
        with tracer:
            model(torch.zeros(1, first.in_channels, input_size, input_size, device=model_device(model)))
    finally:
        for h in handles:
            h.remove()
    return Wiring(conv_inputs, outputs)
