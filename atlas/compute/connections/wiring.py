"""Which convolution weights connect one layer to the next, found by tracing one forward pass.

Direct weights need the wiring: which conv produces a channel of the destination (for a
concatenation such as an Inception block, which slice of the output comes from which
branch) and which channels of the source that conv reads (a conv may read a slice of a
concatenation, or the concatenation whole). The forward code knows this but does not say
it, so we follow channels through a forward pass: every named module tags the channels of
its output, channel-preserving ops (padding, the elementwise activation functions of
``atlas.compute.activation_trace.ACTIVATION_FUNCTIONS``, pooling, LRN, dropout) pass the tags
on, ``torch.cat`` along channels shifts and merges them, and every convolution records the
tags of its input. A pool also notes itself in the tags it passes on: a conv that reads a
layer through a pool reads it in pooled coordinates. Nothing is assumed about the model's
code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from atlas.compute.activation_trace import ACTIVATION_FUNCTIONS
from atlas.compute.capture import model_device
from atlas.compute.hooks import tap

_POOLS = {F.max_pool2d: "max-pool", F.avg_pool2d: "avg-pool"}
_PASS_THROUGH = {
    F.pad, *ACTIVATION_FUNCTIONS, *_POOLS,  # elementwise: channels kept
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
    pools: tuple[str, ...] = ()  # the pools between that output and this tensor ("max-pool 3x3/1")


@dataclass(frozen=True)
class Wiring:
    """For every conv module: the pieces of its input; for every module: of its output."""

    conv_inputs: dict[str, list[Piece]]
    outputs: dict[str, list[Piece]]


def _pool_name(func: Callable, args: tuple, kwargs: dict) -> str:
    """``max-pool 3x3/1``: the pool's kind, window and stride."""
    named = {**dict(zip(("input", "kernel_size", "stride"), args)), **kwargs}
    window = torch.nn.modules.utils._pair(named["kernel_size"])
    stride = torch.nn.modules.utils._pair(named.get("stride") or named["kernel_size"])
    size = f"{window[0]}x{window[1]}"
    return f"{_POOLS[func]} {size}/{stride[0] if stride[0] == stride[1] else f'{stride[0]}x{stride[1]}'}"


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
        if func in _POOLS and isinstance(out, torch.Tensor):
            pool = _pool_name(func, args, kwargs)
            self.tag(out, [replace(p, pools=(*p.pools, pool)) for p in self.pieces(args[0])])
        elif func in _PASS_THROUGH and isinstance(out, torch.Tensor):
            self.tag(out, self.pieces(args[0]))
        elif func is torch.cat and kwargs.get("dim", args[1] if len(args) > 1 else 0) in (1, -3):
            merged, offset = [], 0
            for t in args[0]:
                merged += [replace(p, start=p.start + offset)
                           for p in self.pieces(t)]
                offset += t.shape[1]
            self.tag(out, merged)
        return out


@torch.no_grad()
def trace(model: nn.Module, input_size: int) -> Wiring:
    """Trace one forward pass of a blank ``input_size`` image (see module doc)."""
    tracer = _Tracer()

    def input_pieces(_name: str, args: tuple) -> list[Piece]:
        return tracer.pieces(args[0])

    def output_pieces(name: str, out: object) -> list[Piece] | None:
        if not (isinstance(out, torch.Tensor) and out.dim() >= 2):
            return None
        tracer.tag(out, [*tracer.pieces(out), Piece(name, 0, 0, out.shape[1])])
        return tracer.pieces(out)

    names = [name for name, _ in model.named_modules() if name]
    convs = [name for name, module in model.named_modules() if name and isinstance(module, nn.Conv2d)]
    first = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
    # A module that runs twice keeps the pieces of its first call (and tags every call);
    # outputs that are not channel maps record nothing.
    with tap(model, names, inputs=convs, keep=output_pieces, keep_input=input_pieces, repeat="first") as taps:
        with tracer:
            model(torch.zeros(1, first.in_channels, input_size, input_size, device=model_device(model)))
    return Wiring(taps.inputs, taps.outputs)
