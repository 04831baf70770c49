"""Activations of named layers, captured with forward hooks (``atlas.compute.hooks.tap``).

Hooks rather than a rewritten forward: any ``nn.Module`` works unchanged, layers are named
by their module path (``mixed4a``, ``features.3``). Capture runs under ``no_grad`` on the
model's device. A spatial reduction (``max``, ``mean``, ``center``) is applied inside the
hook, so full maps never pile up; without one the model's own output tensor is kept, and
checked afterwards for a later in-place op (``ReLU(inplace=True)``). Once every
requested layer has fired, the rest of the forward pass is skipped: a capture of early
layers costs only the layers up to them.

Each function reads a layer at a ``site`` (``atlas.compute.preactivation``): ``"post"``, the
default, is the layer's output as the model computes it (what a statistic such as
selectivity, which assumes non-negative activations, expects); ``"pre"`` is the value
before the layer's nonlinearity, which dataset examples and objectives use.

``iter_activations`` streams a dataset batch by batch and yields each batch's activations
with the dataset indices they belong to, so memory is bounded by one batch whatever the
dataset's size.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from atlas.compute.hooks import resolve_layers
from atlas.compute.preactivation import Site, check_site, tap_sites
from atlas.errors import InvalidInput

Reduction = Literal["max", "mean", "center"] | None
REDUCTIONS = ("max", "mean", "center")


def reduce_spatial(x: torch.Tensor, reduction: Reduction) -> torch.Tensor:
    """(N, C, H, W) -> (N, C) by ``reduction``; tensors without spatial axes pass through."""
    if reduction is None or x.dim() < 3:
        return x
    if reduction == "max":
        return x.flatten(2).amax(dim=2)
    if reduction == "mean":
        return x.flatten(2).mean(dim=2)
    if reduction == "center":
        return x[..., x.shape[-2] // 2, x.shape[-1] // 2]
    raise InvalidInput(f"unknown spatial reduction {reduction!r}; use one of {REDUCTIONS}")


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter or buffer (CPU for a stateless model)."""
    for t in (*model.parameters(), *model.buffers()):
        return t.device
    return torch.device("cpu")


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """The model in eval mode inside; afterwards every module has its own mode back.
    Restoring only the top module's flag (``model.train(was_training)``) would put a
    module the user had frozen in eval mode, such as a fine-tuned model's batch norm,
    back in train mode."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, training in modes:
            module.training = training


def _forward(model: nn.Module, layers: Sequence[str], inputs: torch.Tensor,
             reduction: Reduction, site: Site, clone: frozenset[tuple[bool, str]],
             ) -> tuple[dict, frozenset[tuple[bool, str]]]:
    """One tapped forward pass, stopped once every layer has fired. Pieces in ``clone``
    ((from an input?, module)) are copied in the hook; also returns the pieces whose kept
    tensor a later in-place op rewrote."""
    versions: dict[tuple[bool, str], tuple[torch.Tensor, int]] = {}

    def keeper(from_inputs: bool):  # noqa: ANN202 - a hook's keep function
        def keep(name: str, output: torch.Tensor) -> torch.Tensor:
            kept = reduce_spatial(output, reduction)
            kept = kept.clone() if (from_inputs, name) in clone else kept
            versions[(from_inputs, name)] = (kept, kept._version)
            return kept
        return keep

    with tap_sites(model, [(layer, site) for layer in layers], keep=keeper(False),
                   keep_input=keeper(True)) as taps:
        taps.taps.run(inputs.to(model_device(model), non_blocking=True))
    out = {layer: act for (layer, _site), act in taps.values().items()}
    return out, frozenset(k for k, (t, v) in versions.items() if t._version != v)


@torch.no_grad()
def capture(model: nn.Module, layers: Sequence[str], inputs: torch.Tensor,
            reduction: Reduction = None, site: Site = "post") -> dict[str, torch.Tensor]:
    """One forward pass of ``inputs``; returns ``{layer: activations}`` at ``site`` on the
    model's device.

    Kept maps are the model's own output tensors, not copies; if a later in-place op
    rewrote one (its version counter moved), the pass is run again copying those layers,
    so the common case pays for no copy. A module that runs twice in one forward pass is
    refused (which call is meant would be ambiguous).
    """
    if reduction is not None and reduction not in REDUCTIONS:
        raise InvalidInput(f"unknown spatial reduction {reduction!r}; use one of {REDUCTIONS}")
    resolve_layers(model, layers)
    check_site(site)
    if len(set(layers)) != len(layers):
        raise InvalidInput("a layer is requested twice")
    out, stale = _forward(model, layers, inputs, reduction, site, frozenset())
    if stale:
        out, _ = _forward(model, layers, inputs, reduction, site, stale)
    return out


@dataclass
class CaptureBatch:
    """Activations of one batch and the dataset indices of its images."""

    indices: torch.Tensor
    activations: dict[str, torch.Tensor]


def batch_images(batch: object) -> torch.Tensor:
    """The image tensor of a collated batch: datasets yield ``image`` or ``(image, ...)``."""
    return batch if isinstance(batch, torch.Tensor) else batch[0]


def iter_activations(model: nn.Module, layers: Sequence[str], dataset: Dataset,
                     batch_size: int = 64, reduction: Reduction = None,
                     num_workers: int = 0, site: Site = "post") -> Iterator[CaptureBatch]:
    """Stream ``dataset`` through ``model`` in order, one ``CaptureBatch`` at a time
    (activations at ``site``)."""
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False,
                        num_workers=num_workers,
                        pin_memory=model_device(model).type == "cuda")
    start = 0
    with eval_mode(model):
        for batch in loader:
            images = batch_images(batch)
            acts = capture(model, layers, images, reduction, site)
            n = images.shape[0]
            yield CaptureBatch(torch.arange(start, start + n), acts)
            start += n


def collect_activations(model: nn.Module, layers: Sequence[str], dataset: Dataset,
                        batch_size: int = 64, reduction: Reduction = "max",
                        num_workers: int = 0, site: Site = "post") -> dict[str, torch.Tensor]:
    """All activations over ``dataset`` concatenated on the CPU (sized by the result, so
    use a reduction for large datasets)."""
    parts: dict[str, list[torch.Tensor]] = {name: [] for name in layers}
    for batch in iter_activations(model, layers, dataset, batch_size, reduction, num_workers, site):
        for name, act in batch.activations.items():
            parts[name].append(act.cpu())
    return {name: torch.cat(p) for name, p in parts.items()}
