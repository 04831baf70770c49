"""The linearized network between two layers, and expanded weights from it by gradients.

"Visualizing Weights" multiplies out the weights between non-adjacent layers as if the
network were linear between them. We do this for any model without rewriting it: a
``torch`` function mode replaces, during the forward pass, ReLU by the identity, max-pool
by average-pool (same window and stride; -inf padding becomes zero padding) and local
response normalization by its Jacobian at its mean input over a dataset (its operating
point: ``atlas.compute.connections.operating_point``). Convolutions, average pools, batch norm in eval
mode, branches, concatenations and additions are linear already. Biases only add a
constant, so the gradient ignores them; any other nonlinearity is linearized by autograd
around the point where it is evaluated.

The effective kernel of an L2 unit is then the gradient of its pre-activation at the
centre of the L2 map with respect to the L1 map, cropped to its receptive field in L1.
Many L2 units are computed per pass: L1's output is replaced by a leaf tensor with one
batch element per L2 unit, and every element back-propagates its own unit. Earlier layers
run on a single blank image; paths that bypass L1 are broadcast to the batch where they
meet it at a concatenation (additions broadcast by themselves). The input is shrunk to the
smallest size whose L1 map still holds the whole receptive field, which makes the passes
cheap.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from weakref import WeakKeyDictionary

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from atlas.compute.capture import model_device
from atlas.compute.connections.operating_point import (
    LRNPoint,
    cached_operating_points,
    default_dataset,
    lrn_between,
    lrn_options,
)
from atlas.compute.connections.selection import check_units
from atlas.compute.hooks import tap
from atlas.errors import InvalidInput

Progress = Callable[[int, "int | None", "str | None"], None]

_IDENTITY = {F.relu, torch.relu, torch.relu_, torch.Tensor.relu, torch.Tensor.relu_}
_MAX_POOLS = {F.max_pool1d, F.max_pool2d, F.max_pool3d}
# ``max_pool*d(..., return_indices=True)`` dispatches to these; indices have no average.
_MAX_POOLS_WITH_INDICES = {F.max_pool1d_with_indices, F.max_pool2d_with_indices, F.max_pool3d_with_indices}
_AVG_POOLS = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}
_POOL_ARGS = ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices")


def _named(args: tuple, kwargs: dict, names: tuple[str, ...]) -> dict:
    return {**dict(zip(names, args)), **kwargs}


class Linearized(TorchFunctionMode):
    """Inside this mode a forward pass computes the linearized network (see module doc).

    ``lrn``: the operating point of every LRN call of the pass, in call order. Without it
    an LRN passes its input on unchanged, which keeps only the spatial support right (the
    LRN mixes channels, never positions): enough for receptive fields and windows, not
    for weights. One mode object per forward pass (it counts the LRN calls).
    """

    def __init__(self, lrn: Sequence[LRNPoint] | None = None) -> None:
        super().__init__()
        self.lrn = lrn
        self.lrn_calls = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _IDENTITY:
            return args[0]
        if func is F.local_response_norm:
            x = lrn_options(args, kwargs)[0]
            if self.lrn is None:
                return x
            if self.lrn_calls >= len(self.lrn):
                raise InvalidInput("the model ran more local response normalizations than it has operating points")
            self.lrn_calls += 1
            return self.lrn[self.lrn_calls - 1].apply(x)
        if func in _MAX_POOLS_WITH_INDICES:
            raise InvalidInput("cannot linearize a max-pool returning indices")
        if func in _MAX_POOLS:
            a = _named(args, kwargs, _POOL_ARGS)
            if a.get("dilation", 1) not in (1, (1, 1), [1, 1]):
                raise InvalidInput("cannot linearize a dilated max-pool")
            dims = {F.max_pool1d: 1, F.max_pool2d: 2, F.max_pool3d: 3}[func]
            return _AVG_POOLS[dims](a["input"], a["kernel_size"], a.get("stride") or a["kernel_size"],
                                    a.get("padding", 0), a.get("ceil_mode", False))
        if func is torch.cat:
            return torch.cat(*_broadcast_batch(*args, **kwargs))
        if func is F.pad:
            a = _named(args, kwargs, ("input", "pad", "mode", "value"))
            if a.get("value") is not None and math.isinf(a["value"]):
                return F.pad(a["input"], a["pad"], a.get("mode", "constant"), 0.0)
        return func(*args, **kwargs)


def _broadcast_batch(tensors, dim=0):
    """Paths that bypass L1 have batch 1: expand them to L1's batch where they meet."""
    batch = max(t.shape[0] for t in tensors)
    return [t.expand(batch, *t.shape[1:]) if t.shape[0] == 1 else t for t in tensors], dim


def _linear_forward(model: nn.Module, src: str, dst: str, size: tuple[int, int], batch: int = 1,
                    lrn: Sequence[LRNPoint] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Run the linearized model on one blank image of ``size`` with ``src``'s output
    replaced by a zero leaf tensor of ``batch`` maps, stopped at ``dst``; returns (that
    leaf, dst's output)."""
    if not src or not dst:
        raise InvalidInput("expanded weights need two named layers, not the whole model")
    device = model_device(model)

    def leaf(out: torch.Tensor) -> torch.Tensor:
        return torch.zeros((batch, *out.shape[1:]), device=out.device, dtype=out.dtype,
                           requires_grad=True)

    with (tap(model, [src, dst], stop_after=dst, replace={src: leaf}, repeat="last") as taps,
          Linearized(lrn), torch.enable_grad()):
        model(torch.zeros(1, input_channels(model), *size, device=device))
    if dst not in taps:
        raise InvalidInput(f"layer {dst} did not run after {src}")
    if src not in taps:
        raise InvalidInput(f"layer {dst} runs before {src}: expanded weights go forwards")
    z, out = taps[src], taps[dst]
    if out.dim() != 4 or z.dim() != 4:
        raise InvalidInput(f"expanded weights need 2-d maps in {src} and {dst}")
    return z, out


def input_channels(model: nn.Module) -> int:
    """Channels of the images the model takes: its first convolution's (3 if it has none)."""
    first = next((m for m in model.modules() if isinstance(m, nn.modules.conv._ConvNd)), None)
    return first.in_channels if first is not None else 3


@dataclass(frozen=True)
class Window:
    """Where the receptive field of L2's centre unit lies in L1, for an input ``size``."""

    size: tuple[int, int]
    src_shape: tuple[int, ...]
    dst_shape: tuple[int, ...]
    rows: tuple[int, int]
    cols: tuple[int, int]

    @property
    def kernel_shape(self) -> tuple[int, int]:
        return self.rows[1] - self.rows[0], self.cols[1] - self.cols[0]

    @property
    def centre(self) -> tuple[int, int]:
        return self.dst_shape[2] // 2, self.dst_shape[3] // 2


def _window(model: nn.Module, src: str, dst: str, size: int) -> Window | None:
    """The support of the centre unit's gradient (all channels, random mix) in L1."""
    try:
        z, out = _linear_forward(model, src, dst, (size, size))
    except (RuntimeError, ValueError):  # an input too small for the model's layers
        return None
    if not out.requires_grad:
        return None
    cy, cx = out.shape[2] // 2, out.shape[3] // 2
    mix = torch.rand(out.shape[1], generator=torch.Generator().manual_seed(0)).to(out.device)
    # An L2 that does not read L1 still needs grad through its own weights: no gradient.
    (grad,) = torch.autograd.grad((out[0, :, cy, cx] * (mix + 0.5)).sum(), z, allow_unused=True)
    if grad is None:
        return None
    support = grad[0].abs().sum(0) > 0
    if not support.any():
        return None
    rows, cols = support.any(1).nonzero()[:, 0], support.any(0).nonzero()[:, 0]
    return Window((size, size), tuple(z.shape), tuple(out.shape),
                  (int(rows[0]), int(rows[-1]) + 1), (int(cols[0]), int(cols[-1]) + 1))


# Windows found per model object: a worker keeps its model between jobs (ModelCache), and
# every chunk job of a layer pair needs the same window (a bisection of ~8 passes).
_WINDOWS: WeakKeyDictionary[nn.Module, dict[tuple[str, str, int], Window]] = WeakKeyDictionary()


def smallest_window(model: nn.Module, src: str, dst: str, input_size: int) -> Window:
    """The centre unit's receptive field in L1 at the smallest input size (bisection from
    8 pixels to ``input_size``) whose L1 map still holds all of it."""
    found = _WINDOWS.setdefault(model, {})
    if (src, dst, input_size) not in found:
        found[(src, dst, input_size)] = _bisect_window(model, src, dst, input_size)
    return found[(src, dst, input_size)]


def _bisect_window(model: nn.Module, src: str, dst: str, input_size: int) -> Window:
    reference = _window(model, src, dst, input_size)
    if reference is None:
        raise InvalidInput(f"{dst} does not depend on {src}")
    lo, hi, best = 8, input_size, reference
    while lo < hi:
        mid = (lo + hi) // 2
        found = _window(model, src, dst, mid)
        if found is not None and found.kernel_shape == reference.kernel_shape:
            best, hi = found, mid
        else:
            lo = mid + 1
    return best


def expanded_kernels(model: nn.Module, src: str, dst: str, input_size: int,
                     units: torch.Tensor | None = None, batch_units: int = 256,
                     progress: Progress | None = None, dataset: dict | None = None) -> torch.Tensor:
    """Effective kernels ``(units, C1, kh, kw)`` of the linearized path from ``src`` to
    ``dst`` (all of dst's units by default), on the model's device, ``batch_units`` L2
    units per backward pass. A model with local response normalization is linearized at
    its mean input over the images of the ``dataset`` spec (by default a few synthetic
    images at ``input_size``)."""
    window = smallest_window(model, src, dst, input_size)
    lrn = None
    if lrn_between(model, src, dst, window.size, input_channels(model)):
        lrn = cached_operating_points(model, dataset or default_dataset(input_size))
    units = torch.arange(window.dst_shape[1]) if units is None else torch.as_tensor(units)
    check_units(units, window.dst_shape[1], dst)
    (r0, r1), (c0, c1) = window.rows, window.cols
    cy, cx = window.centre
    parts = []
    for start in range(0, len(units), batch_units):
        chunk = units[start:start + batch_units].to(model_device(model))
        z, out = _linear_forward(model, src, dst, window.size, batch=len(chunk), lrn=lrn)
        picked = out[torch.arange(len(chunk), device=out.device), chunk, cy, cx]
        (grad,) = torch.autograd.grad(picked.sum(), z)
        parts.append(grad[:, :, r0:r1, c0:c1])
        if progress is not None:
            progress(start + len(chunk), len(units), f"{src} -> {dst}")
    return torch.cat(parts)

