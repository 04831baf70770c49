"""Where the linearized network linearizes local response normalization: at its mean
input over a dataset.

LRN divides each channel by a power of its neighbourhood's energy,
``y_c = x_c * (k + alpha/n * sum_{j in window(c)} x_j^2)^-beta``; at InceptionV1's typical
activations that scales channels by roughly 0.5-1, so treating it as the identity (as for
a ReLU) overstates every expanded weight through it. Its linearization at an operating
point ``m`` is the Jacobian ``J(m)``: ``y ~ y(m) + J(m) (x - m)``, and since the constant
term only shifts the output, like a bias, the linearized network applies ``J(m)`` as a
1x1 channel mix at every position. We use the full Jacobian, cross-channel terms included
(a neighbour's energy divides a channel: negative off-diagonal entries of order
``2 alpha beta / n * m_c m_j * d^(-beta-1)``), not only its diagonal: it is the exact first
order of the real network at ``m``, and for InceptionV1's constants (``n=9``,
``alpha=1e-4``, ``beta=0.5``) the cross terms are not small next to the diagonal.

``m`` is the mean of the LRN's input over the images and positions of a dataset, one
vector per LRN call of a forward pass (in call order). It is computed once per model
object and dataset spec, and cached (a worker keeps its model between jobs).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from weakref import WeakKeyDictionary

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils.data import DataLoader, Dataset

from atlas.compute.capture import eval_mode, model_device
from atlas.compute.datasets.spec import open_dataset
from atlas.compute.hooks import tap

DEFAULT_IMAGES = 64
_LRN_ARGS = ("input", "size", "alpha", "beta", "k")
_LRN_DEFAULTS = {"alpha": 1e-4, "beta": 0.75, "k": 1.0}


def default_dataset(input_size: int) -> dict:
    """The dataset spec of the operating point when a job names none: a few synthetic images."""
    return {"kind": "synthetic", "n": DEFAULT_IMAGES, "seed": 0, "size": input_size}


@dataclass(frozen=True)
class LRNPoint:
    """One LRN call's operating point: its mean input ``(C,)`` and the ``(C, C)``
    Jacobian of the LRN there (``jacobian[c, j] = d y_c / d x_j``)."""

    mean: torch.Tensor
    jacobian: torch.Tensor

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        """The linearized LRN of a ``(N, C, ...)`` tensor: ``J(m)`` mixing its channels."""
        return torch.einsum("cj,nj...->nc...", self.jacobian.to(x.device, x.dtype), x)


def lrn_options(args: tuple, kwargs: dict) -> tuple[torch.Tensor, dict]:
    """The input of an ``F.local_response_norm`` call and its other arguments by name."""
    named = {**_LRN_DEFAULTS, **dict(zip(_LRN_ARGS, args)), **kwargs}
    return named.pop("input"), named


class _MeanInputs(TorchFunctionMode):
    """Sums the input of every LRN call of a forward pass, per channel."""

    def __init__(self) -> None:
        super().__init__()
        self.sums: list[torch.Tensor] = []
        self.counts: list[int] = []
        self.options: list[dict] = []
        self.call = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is F.local_response_norm:
            x, options = lrn_options(args, kwargs)
            total = x.double().transpose(0, 1).reshape(x.shape[1], -1).sum(1)
            if self.call == len(self.sums):
                self.sums.append(torch.zeros_like(total))
                self.counts.append(0)
                self.options.append(options)
            self.sums[self.call] += total
            self.counts[self.call] += x.numel() // x.shape[1]
            self.call += 1
        return func(*args, **kwargs)


def _jacobian(mean: torch.Tensor, options: dict) -> torch.Tensor:
    """The Jacobian of the LRN at ``mean`` (LRN acts on each position alone: one pixel)."""
    channels = mean.shape[0]

    def lrn(v: torch.Tensor) -> torch.Tensor:
        return F.local_response_norm(v.view(1, channels, 1, 1), **options).view(channels)

    return torch.autograd.functional.jacobian(lrn, mean)


@torch.no_grad()
def lrn_operating_points(model: nn.Module, dataset: Dataset, batch_size: int = 32) -> tuple[LRNPoint, ...]:
    """The operating point of every LRN call of ``model``'s forward pass, over ``dataset``
    (none for a model without LRN: it stops after the first batch then)."""
    mode = _MeanInputs()
    device = model_device(model)
    dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)
    with eval_mode(model):
        for batch in DataLoader(dataset, batch_size=batch_size, shuffle=False):
            images = batch if isinstance(batch, torch.Tensor) else batch[0]
            mode.call = 0
            with mode:
                model(images.to(device, dtype))
            if not mode.sums:
                return ()
    points = []
    for total, count, options in zip(mode.sums, mode.counts, mode.options):
        mean = (total / count).to(dtype)
        with torch.enable_grad():
            points.append(LRNPoint(mean, _jacobian(mean, options)))
    return tuple(points)


_CACHE: WeakKeyDictionary[nn.Module, dict[str, tuple[LRNPoint, ...]]] = WeakKeyDictionary()


def cached_operating_points(model: nn.Module, spec: dict) -> tuple[LRNPoint, ...]:
    """``lrn_operating_points`` over the dataset of ``spec``, once per model object and spec."""
    found = _CACHE.setdefault(model, {})
    key = json.dumps(spec, sort_keys=True)
    if key not in found:
        found[key] = lrn_operating_points(model, open_dataset(spec))
    return found[key]


@torch.no_grad()
def lrn_between(model: nn.Module, src: str, dst: str, size: tuple[int, int], in_channels: int) -> bool:
    """Whether a forward pass (on a blank image) runs an LRN after ``src`` and before
    ``dst`` ends: only those change expanded weights from ``src`` (an LRN before ``src``
    acts on what the linearized pass replaces), so only then is an operating point needed."""
    mode = _MeanInputs()
    at_src: list[int] = []

    def note(name: str, out: object) -> object:
        if name == src:
            at_src.append(mode.call)
        return None

    with tap(model, [src, dst], stop_after=dst, keep=note, repeat="last"), mode:
        model(torch.zeros(1, in_channels, *size, device=model_device(model)))
    return bool(at_src) and mode.call > at_src[-1]
