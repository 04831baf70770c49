"""Strength measures of connections and the top-k inputs and outputs of every unit.

A connection is kept when it is among the ``k`` strongest inputs of its destination or
among the ``k`` strongest outputs of its source, so both "top inputs of X" and "top
outputs of X" are complete up to ``k``. Ranks are global: ``rank_in`` is the position of
the connection among *all* inputs of its destination (0 the strongest), not just the
stored ones. Strength is the kernel's L2 norm for weights (sign-free: inhibition is as
strong a connection as excitation), with the positive and negative mass (sums of the
positive entries and of the magnitudes of the negative ones) saying which it is: the net
mass (positive minus negative) is the connection's sign. So that "strongest excitatory"
and "strongest inhibitory" inputs and outputs are complete up to ``k`` as well, the ``k``
largest and the ``k`` smallest net masses of every destination and source are kept too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from atlas.catalog.records import DirectPathInfo
from atlas.errors import InvalidInput


@dataclass
class ConnectionSet:
    """The kept connections from ``src_layer`` to ``dst_layer`` (channel indices), one row
    per edge; ``kernels`` (float16, ``(edges, kh, kw)``) is None for attribution; ``paths``
    the wiring of direct weights (``atlas.compute.connections.direct``), empty otherwise."""

    src_layer: str
    dst_layer: str
    kind: str
    src: np.ndarray
    dst: np.ndarray
    strength: np.ndarray
    positive_mass: np.ndarray
    negative_mass: np.ndarray
    rank_in: np.ndarray
    rank_out: np.ndarray
    kernels: np.ndarray | None = None
    paths: tuple[DirectPathInfo, ...] = ()

    def __len__(self) -> int:
        return len(self.src)


def check_units(units: Sequence[int] | torch.Tensor | np.ndarray, channels: int, layer: str) -> None:
    """A clear error for unit indices outside ``layer``'s ``channels`` (before indexing fails)."""
    values = np.asarray(units.cpu() if isinstance(units, torch.Tensor) else list(units), dtype=np.int64)
    if len(values) and (values.min() < 0 or values.max() >= channels):
        raise InvalidInput(f"units outside {layer} (0 to {channels - 1})")


def _ranks(score: torch.Tensor, dim: int) -> torch.Tensor:
    """Rank of every entry along ``dim`` by descending score (0 = largest; stable)."""
    order = torch.argsort(score, dim=dim, descending=True, stable=True)
    ranks = torch.empty_like(order)
    ranks.scatter_(dim, order, torch.arange(score.shape[dim], device=score.device)
                   .view([-1 if d == dim else 1 for d in range(score.dim())]).expand_as(order))
    return ranks


def select_top(src_layer: str, dst_layer: str, kind: str, k: int, strength: torch.Tensor,
               positive_mass: torch.Tensor, negative_mass: torch.Tensor,
               kernels: torch.Tensor | None = None,
               connected: torch.Tensor | None = None,
               paths: tuple[DirectPathInfo, ...] = ()) -> ConnectionSet:
    """Keep the top-``k`` inputs of every destination and outputs of every source.

    All matrices are ``(C_dst, C_src)``; ranking is by ``|strength|``, and the ``k`` most
    excitatory and most inhibitory pairs by net mass are kept as well; pairs outside
    ``connected`` (no weight joins them) are never kept.
    """
    def unconnected_last(values: torch.Tensor) -> torch.Tensor:
        return values if connected is None else torch.where(connected, values, torch.full_like(values, -torch.inf))

    score = unconnected_last(strength.abs().float())
    net = (positive_mass - negative_mass).float()
    rank_in, rank_out = _ranks(score, 1), _ranks(score, 0)
    keep = (rank_in < k) | (rank_out < k)
    for signed in (unconnected_last(net), unconnected_last(-net)):  # most excitatory, most inhibitory
        keep |= (_ranks(signed, 1) < k) | (_ranks(signed, 0) < k)
    if connected is not None:
        keep &= connected
    dst, src = keep.nonzero(as_tuple=True)

    def take(m: torch.Tensor) -> np.ndarray:
        return m[dst, src].detach().cpu().numpy()

    return ConnectionSet(
        src_layer, dst_layer, kind, src.cpu().numpy().astype(np.int32),
        dst.cpu().numpy().astype(np.int32), take(strength).astype(np.float32),
        take(positive_mass).astype(np.float32), take(negative_mass).astype(np.float32),
        take(rank_in).astype(np.int32), take(rank_out).astype(np.int32),
        None if kernels is None else kernels[dst, src].detach().to(torch.float16).cpu().numpy(),
        paths,
    )


def kernel_measures(kernels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(strength, positive mass, negative mass) of ``(C_dst, C_src, kh, kw)`` kernels."""
    flat = kernels.flatten(2)
    return flat.norm(dim=2), flat.clamp(min=0).sum(2), (-flat).clamp(min=0).sum(2)
