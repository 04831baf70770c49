"""Connections between features: direct weights, expanded weights, attribution.

    conn = expanded_connections(model, "mixed3a", "mixed3b", k=20, device="cuda")
    store_connections(catalog, "inceptionv1", conn)
    catalog.top_inputs("inceptionv1/mixed3b/379", k=10, kind="expanded")

Each function computes on ``device`` (the model is moved there; None keeps it where it
is) and returns a ``ConnectionSet``: the top-``k`` inputs of every destination unit and
the top-``k`` outputs of every source unit, with strengths, ranks and float16 kernels.
``progress(done, total, message)`` is called as work advances. The job queue computes a
pair in chunks of destination units (``pair_chunk``, ``store_chunk``, ``rank_chunks``).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import Dataset

from atlas.compute.connections.chunks import PairChunk, Progress, pair_chunk, rank_chunks, store_chunk
from atlas.compute.connections.selection import ConnectionSet
from atlas.compute.connections.store import (
    put_kernel_blobs,
    store_connections,
    write_connections,
)

__all__ = ["ConnectionSet", "PairChunk", "attribution_connections", "direct_connections",
           "expanded_connections", "pair_chunk", "put_kernel_blobs", "rank_chunks", "store_chunk",
           "store_connections", "write_connections"]


def _on(model: nn.Module, device: str | torch.device | None) -> nn.Module:
    return model.eval() if device is None else model.to(device).eval()


def direct_connections(model: nn.Module, layer_src: str, layer_dst: str, k: int = 20,
                       device: str | torch.device | None = None,
                       input_size: int = 224) -> ConnectionSet:
    """The weights of the convolutions that read ``layer_src`` and write ``layer_dst``
    (per branch and slice of a concatenation)."""
    return pair_chunk(_on(model, device), "direct", layer_src, layer_dst, input_size=input_size).top(k)


def expanded_connections(model: nn.Module, layer_src: str, layer_dst: str, k: int = 20,
                         device: str | torch.device | None = None, batch_units: int = 128,
                         input_size: int = 224, progress: Progress | None = None,
                         operating_data: dict | None = None) -> ConnectionSet:
    """Expanded weights through the linearized network from ``layer_src`` to ``layer_dst``
    (local response normalization linearized at its mean input over ``operating_data``)."""
    return pair_chunk(_on(model, device), "expanded", layer_src, layer_dst, input_size=input_size,
                      batch_units=batch_units, progress=progress, operating_data=operating_data).top(k)


def attribution_connections(model: nn.Module, layer_src: str, layer_dst: str, dataset: Dataset,
                            k: int = 20, device: str | torch.device | None = None,
                            batch_size: int = 32, progress: Progress | None = None) -> ConnectionSet:
    """Activation-times-gradient edges averaged over ``dataset`` (signed strengths)."""
    return pair_chunk(_on(model, device), "attribution", layer_src, layer_dst, dataset=dataset,
                      batch_size=batch_size, progress=progress).top(k)
