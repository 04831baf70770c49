"""The activation function a layer applies last inside its own forward, found by tracing.

A studied layer whose forward ends in a *functional* activation (a ``Conv2d`` subclass
returning ``F.relu(super().forward(x))``, a block returning ``torch.relu(self.conv(x))``,
``x.relu_()``) outputs the activation's result, and its pre-activation is the tensor that
went *into* that call, which no module hook sees. A ``TorchFunctionMode`` (the mechanism
``atlas.compute.connections.wiring`` traces channels with) watches the calls of
``ACTIVATION_FUNCTIONS`` made while the layer runs, its own code and its children's; when
the layer returns, the call whose result *is* the layer's output (the same tensor object,
also after an in-place call) is its final activation, and that call's input is the
pre-activation: the very tensor the model computed, so the value is exact, with its
gradient.

The first watched pass of a (model, layer) is the trace: it keeps every watched call's
input (a copy, taken before the call, so an in-place activation has not overwritten it)
and caches which call was final (its position among the layer's activation calls and
whether it worked in place), or that none was: the layer's output is then already before
any activation, and later reads tap the output without watching. Later passes keep only
the final call's input, copied only if that call works in place, and refuse (one line) a
pass in which that call's result is no longer the layer's output. The trace runs on the
real input of that first pass rather than on a dummy input: reading a layer does not know
the model's input shape, and the pass is one that was to run anyway.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from atlas.errors import InvalidInput

# Elementwise nonlinearities as functions and tensor methods (in-place variants included):
# what a module may apply inside its forward. Each keeps the channels of its input.
ACTIVATION_FUNCTIONS: frozenset[Callable] = frozenset({
    F.relu, torch.relu, torch.relu_, torch.Tensor.relu, torch.Tensor.relu_, F.relu6,
    F.leaky_relu, F.leaky_relu_, F.elu, F.elu_, F.selu, F.celu, F.gelu, F.silu, F.mish,
    F.hardswish, F.hardsigmoid, F.hardtanh, F.hardtanh_, F.softplus, F.prelu, F.rrelu, F.rrelu_,
    F.sigmoid, torch.sigmoid, torch.sigmoid_, torch.Tensor.sigmoid, torch.Tensor.sigmoid_,
    F.tanh, torch.tanh, torch.tanh_, torch.Tensor.tanh, torch.Tensor.tanh_,
})


@dataclass(frozen=True)
class Final:
    """A layer's final activation: the ``index``-th activation call of its forward."""

    index: int
    in_place: bool


# (model -> {layer: its final activation, or None when its output is before any}).
_TRACES: weakref.WeakKeyDictionary[nn.Module, dict[str, Final | None]] = weakref.WeakKeyDictionary()


def needs_watching(model: nn.Module, layer: str, module: nn.Module) -> bool:
    """Whether reading ``layer``'s pre-activation needs the watch: not for a torch leaf
    module (``nn.Conv2d``, ``nn.Linear``: no activation inside), nor for a layer traced
    as ending in none."""
    if not any(True for _ in module.children()) and type(module).__module__.startswith("torch."):
        return False
    traced = _TRACES.get(model, {})
    return layer not in traced or traced[layer] is not None


@dataclass(eq=False)
class _Call:
    index: int
    pre: torch.Tensor
    out: torch.Tensor
    in_place: bool


@dataclass(eq=False)
class _Run:
    """One call of a watched layer: the activation calls it made so far."""

    layer: str
    final: Final | None  # None: this call is the trace
    calls: int = 0
    seen: list[_Call] = field(default_factory=list)

    def keeps(self, index: int) -> bool:
        return self.final is None or self.final.index == index

    def copies(self, index: int) -> bool:
        return self.final is None or (self.final.index == index and self.final.in_place)


class _Watch(TorchFunctionMode):
    def __init__(self) -> None:
        super().__init__()
        self.running: list[_Run] = []  # the watched layers now running, innermost last

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func not in ACTIVATION_FUNCTIONS or not self.running or not args \
                or not isinstance(args[0], torch.Tensor):
            return func(*args, **kwargs)
        x = args[0]
        keeping = [run for run in self.running if run.keeps(run.calls)]
        pre = x.clone() if any(run.copies(run.calls) for run in keeping) else x
        out = func(*args, **kwargs)
        for run in self.running:
            if run in keeping:
                run.seen.append(_Call(run.calls, pre, out, in_place=out is x))
            run.calls += 1
        return out


@contextmanager
def watch_final_activations(model: nn.Module, layers: Sequence[str],
                            keep: Callable[[str, torch.Tensor], Any],
                            first_only: bool = False) -> Iterator[dict[str, Any]]:
    """Inside the block, each forward pass of ``model`` records ``{layer: keep(layer,
    pre)}`` for the ``layers`` whose final activation is found (see the module doc); a
    layer that ends in none is absent (its output is its pre-activation). Cleared at the
    start of every pass; a layer that runs twice records its last call (its first if
    ``first_only``). Register this before any hook that may stop the pass at a layer's
    output, so the layer's pre-activation is recorded first."""
    found: dict[str, Any] = {}
    if not layers:  # nothing to watch: no mode in the way of the pass
        yield found
        return
    watch = _Watch()
    modules = dict(model.named_modules())

    def start_pass(_module: nn.Module, _args: Any) -> None:
        found.clear()
        watch.running.clear()  # a pass stopped early leaves its runs behind

    def started(layer: str) -> Callable:
        def hook(_module: nn.Module, _args: Any) -> None:
            watch.running.append(_Run(layer, _TRACES.get(model, {}).get(layer)))
        return hook

    def finished(layer: str) -> Callable:
        def hook(_module: nn.Module, _args: Any, output: Any) -> None:
            run = watch.running.pop()
            final = next((call for call in reversed(run.seen) if call.out is output), None)
            if run.final is None:
                _TRACES.setdefault(model, {})[layer] = (
                    Final(final.index, final.in_place) if final is not None else None)
            elif final is None:
                raise InvalidInput(f"layer {layer} no longer ends in the activation function "
                                   "it ended in when it was traced")
            if final is not None and not (first_only and layer in found):
                found[layer] = keep(layer, final.pre)
        return hook

    handles = [model.register_forward_pre_hook(start_pass)]
    try:
        for layer in layers:
            handles.append(modules[layer].register_forward_pre_hook(started(layer)))
            handles.append(modules[layer].register_forward_hook(finished(layer)))
        with watch:
            yield found
    finally:
        for handle in handles:
            handle.remove()
