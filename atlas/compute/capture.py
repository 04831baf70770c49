"""Activations of named layers, captured with forward hooks.

Hooks rather than a rewritten forward: any ``nn.Module`` works unchanged, layers are named
by their module path (``mixed4a``, ``features.3``). Capture runs under ``no_grad`` on the
model's device. A spatial reduction (``max``, ``mean``, ``center``) is applied inside the
hook, so full maps never pile up; without one the model's own output tensor is kept, and
checked afterwards for a later in-place op (``ReLU(inplace=True)``). Once every
requested layer has fired, the rest of the forward pass is skipped: a capture of early
layers costs only the layers up to them.

``iter_activations`` streams a dataset batch by batch and yields each batch's activations
with the dataset indices they belong to, so memory is bounded by one batch whatever the
dataset's size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from atlas.errors import InvalidInput

Reduction = Literal["max", "mean", "center"] | None
REDUCTIONS = ("max", "mean", "center")


class _AllCaptured(Exception):
    """Raised from the last needed hook to stop the forward pass early."""


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


def _resolve(model: nn.Module, layers: Sequence[str]) -> dict[str, nn.Module]:
    modules = dict(model.named_modules())
    missing = [name for name in layers if name not in modules]
    if missing:
        raise InvalidInput(f"model has no layer named {', '.join(missing[:5])}")
    if len(set(layers)) != len(layers):
        raise InvalidInput("a layer is requested twice")
    return {name: modules[name] for name in layers}


def _forward(model: nn.Module, modules: dict[str, nn.Module], inputs: torch.Tensor,
             reduction: Reduction, clone: frozenset[str]) -> tuple[dict, frozenset[str]]:
    """One hooked forward pass. Maps of the layers in ``clone`` are copied in the hook;
    also returns the layers whose kept tensor a later in-place op rewrote."""
    out: dict[str, torch.Tensor] = {}
    versions: dict[str, int] = {}

    def hook_for(name: str) -> Callable[..., None]:
        def hook(_module, _args, output):
            if not isinstance(output, torch.Tensor):
                raise InvalidInput(f"layer {name} does not output a single tensor")
            if name in out:
                raise InvalidInput(f"layer {name} runs more than once per forward pass")
            kept = reduce_spatial(output, reduction)
            out[name] = kept.clone() if name in clone else kept
            versions[name] = out[name]._version
            if len(out) == len(modules):
                raise _AllCaptured
        return hook

    handles = [m.register_forward_hook(hook_for(n)) for n, m in modules.items()]
    try:
        model(inputs.to(model_device(model), non_blocking=True))
    except _AllCaptured:
        pass
    finally:
        for h in handles:
            h.remove()
    if len(out) != len(modules):
        silent = [n for n in modules if n not in out]
        raise InvalidInput(f"layer {', '.join(silent)} did not run in the forward pass")
    return out, frozenset(n for n, t in out.items() if t._version != versions[n])


@torch.no_grad()
def capture(model: nn.Module, layers: Sequence[str], inputs: torch.Tensor,
            reduction: Reduction = None) -> dict[str, torch.Tensor]:
    """One forward pass of ``inputs``; returns ``{layer: activations}`` on the model's device.

    Kept maps are the model's own output tensors, not copies; if a later in-place op
    rewrote one (its version counter moved), the pass is run again copying those layers,
    so the common case pays for no copy. A module that runs twice in one forward pass is
    refused (which call is meant would be ambiguous).
    """
    if reduction is not None and reduction not in REDUCTIONS:
        raise InvalidInput(f"unknown spatial reduction {reduction!r}; use one of {REDUCTIONS}")
    modules = _resolve(model, layers)
    out, stale = _forward(model, modules, inputs, reduction, frozenset())
    if stale:
        out, _ = _forward(model, modules, inputs, reduction, stale)
    return out


@dataclass
class CaptureBatch:
    """Activations of one batch and the dataset indices of its images."""

    indices: torch.Tensor
    activations: dict[str, torch.Tensor]


def _images(batch: object) -> torch.Tensor:
    """The image tensor of a collated batch: datasets yield ``image`` or ``(image, ...)``."""
    return batch if isinstance(batch, torch.Tensor) else batch[0]


def iter_activations(model: nn.Module, layers: Sequence[str], dataset: Dataset,
                     batch_size: int = 64, reduction: Reduction = None,
                     num_workers: int = 0) -> Iterator[CaptureBatch]:
    """Stream ``dataset`` through ``model`` in order, one ``CaptureBatch`` at a time."""
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False,
                        num_workers=num_workers,
                        pin_memory=model_device(model).type == "cuda")
    start = 0
    with eval_mode(model):
        for batch in loader:
            images = _images(batch)
            acts = capture(model, layers, images, reduction)
            n = images.shape[0]
            yield CaptureBatch(torch.arange(start, start + n), acts)
            start += n


def collect_activations(model: nn.Module, layers: Sequence[str], dataset: Dataset,
                        batch_size: int = 64, reduction: Reduction = "max",
                        num_workers: int = 0) -> dict[str, torch.Tensor]:
    """All activations over ``dataset`` concatenated on the CPU (sized by the result, so
    use a reduction for large datasets)."""
    parts: dict[str, list[torch.Tensor]] = {name: [] for name in layers}
    for batch in iter_activations(model, layers, dataset, batch_size, reduction, num_workers):
        for name, act in batch.activations.items():
            parts[name].append(act.cpu())
    return {name: torch.cat(p) for name, p in parts.items()}
