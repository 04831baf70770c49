"""The connections of a layer pair, computed in chunks of destination units.

A destination unit's inputs come from its own kernels, so a chunk of destination units
knows their top-k inputs exactly. A source unit's top-k outputs need every destination
unit, so they are ranked once all chunks are done (``rank_chunks``): each chunk stores its
measures (strength, positive and negative mass, connected mask: small, ``units x C_src``
floats) and the kernels of its candidate edges, the union of the chunk's top-k inputs of
each of its units and the chunk's top-k outputs of each source unit. The global top-k
outputs of a source are among the per-chunk ones, so the candidate kernels cover every
edge the ranking keeps, and ranking the assembled measures gives exactly the edges and
ranks of computing the pair in one go.

Chunks let several workers share one layer pair (expanded weights and attribution of a
wide layer take minutes each), and a crashed chunk is recomputed alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from atlas.catalog.records import DirectPathInfo
from atlas.compute.connections.attribution import attribution_matrix
from atlas.compute.connections.direct import direct_kernels
from atlas.compute.connections.linear import expanded_kernels
from atlas.compute.connections.selection import ConnectionSet, check_units, kernel_measures, select_top
from atlas.compute.connections.store import put_kernel_blobs
from atlas.db.blobs import BlobStore
from atlas.errors import InvalidInput

Progress = Callable[[int, "int | None", "str | None"], None]
KERNEL_KINDS = ("direct", "expanded")  # attribution edges have no kernels


@dataclass
class PairChunk:
    """Measures of the connections into ``units`` of ``dst_layer`` from every unit of
    ``src_layer``: ``(len(units), C_src)`` matrices, kernels ``(len(units), C_src, kh, kw)``."""

    src_layer: str
    dst_layer: str
    kind: str
    units: np.ndarray
    strength: torch.Tensor
    positive_mass: torch.Tensor
    negative_mass: torch.Tensor
    connected: torch.Tensor | None = None
    kernels: torch.Tensor | None = None
    paths: tuple[DirectPathInfo, ...] = ()

    def top(self, k: int) -> ConnectionSet:
        """The top-k inputs of every unit of the chunk and top-k outputs of every source
        unit within the chunk (``dst`` are positions in ``units``)."""
        return select_top(self.src_layer, self.dst_layer, self.kind, k, self.strength, self.positive_mass,
                          self.negative_mass, self.kernels, self.connected, self.paths)


def pair_chunk(model: nn.Module, kind: str, src: str, dst: str, units: Sequence[int] | None = None,
               input_size: int = 224, dataset: Dataset | None = None, batch_units: int = 128,
               batch_size: int = 32, progress: Progress | None = None,
               operating_data: dict | None = None) -> PairChunk:
    """Compute the ``kind`` connections into ``units`` of ``dst`` (all of them by default)
    on the model's device. Expanded weights linearize local response normalization at its
    mean input over the images of ``operating_data`` (a dataset spec; a small default)."""
    paths: tuple[DirectPathInfo, ...] = ()
    if kind == "direct":
        weights = direct_kernels(model, src, dst, input_size)
        kernels, connected, paths = weights.kernels, weights.connected, weights.paths
        rows = torch.arange(kernels.shape[0]) if units is None else torch.as_tensor(list(units))
        check_units(rows, kernels.shape[0], dst)
        kernels, connected = kernels[rows.to(kernels.device)], connected[rows.to(kernels.device)]
    elif kind == "expanded":
        rows = None if units is None else torch.as_tensor(list(units))
        kernels = expanded_kernels(model, src, dst, input_size, units=rows, batch_units=batch_units,
                                   progress=progress, dataset=operating_data)
        rows, connected = torch.arange(kernels.shape[0]) if rows is None else rows, None
    elif kind == "attribution":
        if dataset is None:
            raise InvalidInput("attribution edges need a dataset")
        mean, positive, negative = attribution_matrix(model, src, dst, dataset, units, batch_size, progress)
        rows = torch.arange(mean.shape[0]) if units is None else torch.as_tensor(list(units))
        return PairChunk(src, dst, kind, rows.numpy(), mean, positive, negative)
    else:
        raise InvalidInput(f"unknown connection kind {kind!r} (direct, expanded or attribution)")
    strength, positive, negative = kernel_measures(kernels)
    return PairChunk(src, dst, kind, rows.numpy(), strength, positive, negative, connected, kernels, paths)


def store_chunk(blobs: BlobStore, chunk: PairChunk, k: int) -> dict:
    """Put a chunk's measures and candidate kernels in the blob store; returns the JSON that
    ``rank_chunks`` reads back: ``units``, ``measures`` (a blob), ``kernels`` (a blob per
    unit, None for a unit with no candidate edge or for attribution) and ``paths`` (the
    layer pair's wiring, for direct weights)."""
    connected = torch.ones_like(chunk.strength) if chunk.connected is None else chunk.connected.float()
    measures = torch.stack([chunk.strength.float(), chunk.positive_mass.float(), chunk.negative_mass.float(),
                            connected.to(chunk.strength.device)])
    kernels: list[str | None] = [None] * len(chunk.units)
    if chunk.kernels is not None:
        candidates = chunk.top(k)
        shas = put_kernel_blobs(blobs, candidates)
        for row, sha in zip(candidates.dst, shas):
            kernels[row] = sha.decode()
    return {"units": [int(u) for u in chunk.units],
            "measures": blobs.put_array(measures.detach().cpu().numpy().astype(np.float32)),
            "kernels": kernels, "paths": [asdict(path) for path in chunk.paths]}


def rank_chunks(blobs: BlobStore, src_layer: str, dst_layer: str, kind: str, k: int, dst_channels: int,
                chunks: Sequence[dict]) -> tuple[ConnectionSet, np.ndarray | None]:
    """The top-k connections of the whole pair from its stored chunks (which must cover
    every destination unit once), and the kernel blob name of every edge."""
    measures: np.ndarray | None = None
    kernel_blobs = np.full(dst_channels, b"", dtype="S64")
    covered = np.zeros(dst_channels, dtype=bool)
    for chunk in chunks:
        units = np.asarray(chunk["units"], dtype=np.int64)
        part = blobs.get_array(chunk["measures"])
        check_units(units, dst_channels, dst_layer)
        if part.shape[:2] != (4, len(units)):
            raise InvalidInput(f"a chunk of {src_layer} -> {dst_layer} stored measures of shape {part.shape}")
        if measures is None:
            measures = np.zeros((4, dst_channels, part.shape[2]), dtype=np.float32)
        if covered[units].any() or part.shape[2] != measures.shape[2]:
            raise InvalidInput(f"chunks of {src_layer} -> {dst_layer} overlap or disagree on {src_layer}")
        measures[:, units], covered[units] = part, True
        kernel_blobs[units] = [(name or "").encode() for name in chunk["kernels"]]
    if measures is None or not covered.all():
        missing = np.flatnonzero(~covered)
        raise InvalidInput(f"the chunks of {src_layer} -> {dst_layer} miss units {missing[:10].tolist()} "
                           f"of {dst_layer}")
    strength, positive, negative, connected = torch.from_numpy(measures)
    # Every chunk traced the same wiring; chunks stored before it was recorded have none.
    paths = next((tuple(DirectPathInfo(**path) for path in chunk["paths"])
                  for chunk in chunks if chunk.get("paths")), ())
    conn = select_top(src_layer, dst_layer, kind, k, strength, positive, negative,
                      connected=connected > 0 if kind == "direct" else None, paths=paths)
    return conn, (kernel_blobs[conn.dst] if kind in KERNEL_KINDS else None)
