"""Connections of directions: a direction's kernels are the combination of its channels'.

A direction ``v`` of layer L reads ``sum_c v_c pre_c``, and each ``pre_c`` is linear in the
layer before, P, through its kernels ``W[c]`` (direct weights, or the expanded weights of
the linearized network). So the direction's input kernel from unit ``s`` of P is
``sum_c v_c W[c, s]``: exactly how the direction's pre-activation depends on ``s``. Its
output kernel onto unit ``n`` of the next layer N is ``sum_c v_c W_next[n, c]``: what N's
unit gets when L's output moves by one along ``v`` (a unit is the one-hot case, whose
kernels are its own). Both are measured and ranked like a unit's (``select_top``: norm,
positive and negative mass, the ``k`` strongest, most excitatory and most inhibitory).

A direction's edges are ranked at the direction's end only: its inputs carry ``rank_in``
and no ``rank_out``, its outputs ``rank_out`` and no ``rank_in``, so they are the
direction's connections and never enter a unit's own top inputs or outputs (whose ranks
are among units). Attribution is not computed for directions.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from atlas.compute.connections.direct import direct_kernels
from atlas.compute.connections.linear import expanded_kernels
from atlas.compute.connections.selection import ConnectionSet, kernel_measures, select_top
from atlas.errors import InvalidInput

SIDES = ("in", "out")  # the direction's inputs from the layer before, outputs onto the layer after
DIRECTION_EDGE_KINDS = ("direct", "expanded")


def _kernels(model: nn.Module, kind: str, src: str, dst: str, input_size: int, units: torch.Tensor | None,
             operating_data: dict | None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(units, C_src, kh, kw)`` kernels of ``src -> dst`` (all of dst's units when None)
    and, for direct weights, the mask of connected pairs."""
    if kind == "direct":
        weights = direct_kernels(model, src, dst, input_size)
        rows = slice(None) if units is None else units.to(weights.kernels.device)
        return weights.kernels[rows], weights.connected[rows]
    if kind == "expanded":
        return expanded_kernels(model, src, dst, input_size, units=units, dataset=operating_data), None
    raise InvalidInput(f"directions have {' or '.join(DIRECTION_EDGE_KINDS)} connections, not {kind!r}")


def direction_connections(model: nn.Module, kind: str, side: str, layer: str, other: str, vectors: np.ndarray,
                          k: int, input_size: int = 224, operating_data: dict | None = None) -> ConnectionSet:
    """The ``kind`` connections of the (D, C) ``vectors``, directions of ``layer``: from
    the units of ``other`` (``side="in"``; the set's ``dst`` indexes the directions) or
    onto them (``"out"``; ``src`` indexes the directions)."""
    if side not in SIDES:
        raise InvalidInput(f"a direction's connections are 'in' or 'out', not {side!r}")
    if vectors.ndim != 2 or not len(vectors):
        raise InvalidInput("direction connections need at least one direction vector")
    v = torch.as_tensor(np.asarray(vectors, np.float32))
    if side == "in":
        used = torch.nonzero(v.abs().sum(dim=0)).flatten()  # only the channels a direction uses
        if not len(used):
            raise InvalidInput("a direction of zeros has no connections")
        kernels, connected = _kernels(model, kind, other, layer, input_size, used, operating_data)
        v = v[:, used].to(kernels.device)
        combined = torch.einsum("dc,csij->dsij", v, kernels)  # (D, C_other, kh, kw)
        mask = None if connected is None else (v != 0).float() @ connected.float() > 0
        src_layer, dst_layer = other, layer
    else:
        kernels, connected = _kernels(model, kind, layer, other, input_size, None, operating_data)
        v = v.to(kernels.device)
        if v.shape[1] != kernels.shape[1]:
            raise InvalidInput(f"the directions have {v.shape[1]} numbers; {layer} has {kernels.shape[1]} channels")
        combined = torch.einsum("ncij,dc->ndij", kernels, v)  # (C_other, D, kh, kw)
        mask = None if connected is None else connected.float() @ (v != 0).float().T > 0
        src_layer, dst_layer = layer, other
    strength, positive, negative = kernel_measures(combined)
    return select_top(src_layer, dst_layer, kind, k, strength, positive, negative, combined, mask)
