"""Connections between features: direct weights, expanded weights, attribution.

    conn = expanded_connections(model, "mixed3a", "mixed3b", k=20, device="cuda")
    store_connections(catalog, "inceptionv1", conn)
    catalog.top_inputs("inceptionv1/mixed3b/379", k=10, kind="expanded")

Each function computes on ``device`` (the model is moved there; None keeps it where it
is) and returns a ``ConnectionSet``: the top-``k`` inputs of every destination unit and
the top-``k`` outputs of every source unit, with strengths, ranks and float16 kernels.
``progress(done, total, message)`` is called as work advances.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.utils.data import Dataset

from atlas.connections.attribution import attribution_matrix
from atlas.connections.direct import direct_kernels
from atlas.connections.linear import expanded_kernels
from atlas.connections.selection import ConnectionSet, from_kernels, select_top
from atlas.connections.store import (
    put_kernel_blobs,
    store_connections,
    write_connections,
)

Progress = Callable[[int, "int | None", "str | None"], None]

__all__ = ["ConnectionSet", "attribution_connections", "direct_connections",
           "expanded_connections", "put_kernel_blobs", "store_connections", "write_connections"]


def _on(model: nn.Module, device: str | torch.device | None) -> nn.Module:
    return model.eval() if device is None else model.to(device).eval()


def direct_connections(model: nn.Module, layer_src: str, layer_dst: str, k: int = 20,
                       device: str | torch.device | None = None,
                       input_size: int = 224) -> ConnectionSet:
    """The weights of the convolutions that read ``layer_src`` and write ``layer_dst``
    (per branch and slice of a concatenation)."""
    kernels, connected = direct_kernels(_on(model, device), layer_src, layer_dst, input_size)
    return from_kernels(layer_src, layer_dst, "direct", kernels, k, connected)


def expanded_connections(model: nn.Module, layer_src: str, layer_dst: str, k: int = 20,
                         device: str | torch.device | None = None, batch_units: int = 128,
                         input_size: int = 224, progress: Progress | None = None) -> ConnectionSet:
    """Expanded weights through the linearized network from ``layer_src`` to ``layer_dst``."""
    kernels = expanded_kernels(_on(model, device), layer_src, layer_dst, input_size,
                               batch_units=batch_units, progress=progress)
    return from_kernels(layer_src, layer_dst, "expanded", kernels, k)


def attribution_connections(model: nn.Module, layer_src: str, layer_dst: str, dataset: Dataset,
                            k: int = 20, device: str | torch.device | None = None,
                            batch_size: int = 32, progress: Progress | None = None) -> ConnectionSet:
    """Activation-times-gradient edges averaged over ``dataset`` (signed strengths)."""
    mean, positive, negative = attribution_matrix(_on(model, device), layer_src, layer_dst,
                                                  dataset, batch_size, progress)
    return select_top(layer_src, layer_dst, "attribution", k, mean, positive, negative)
