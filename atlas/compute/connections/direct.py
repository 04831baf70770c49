"""Direct weights: the kernels of the convolutions that read one layer and write the next.

The wiring (``atlas.compute.connections.wiring``) says which conv writes which slice of the
destination and which slice of its input is the source, so a destination that is a
concatenation (an Inception block) gets, per branch, the weights of that branch's conv,
and a conv that reads a slice of a concatenation is cut to that slice. Kernels of
different sizes (1x1 and 3x3 branches) are zero-padded, centred, to the largest.

Not every unit of the destination has direct weights: an Inception block's 3x3 and 5x5
branches read the source through a bottleneck conv (on InceptionV1 only 192 of
``mixed3b``'s 480 units are written by a conv that reads ``mixed3a``). The wiring of every
slice of the destination is returned as ``DirectPathInfo`` records, so the atlas can say
that such a unit is reached through its bottleneck (and show expanded weights), and that
a kernel read through a pool (the pool branch) is in pooled coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from atlas.catalog.records import DirectPathInfo
from atlas.compute.connections.wiring import Piece, Wiring, trace
from atlas.errors import InvalidInput


@dataclass(frozen=True)
class DirectWeights:
    """``(C_dst, C_src, kh, kw)`` kernels (zero where no conv connects the two units), the
    ``(C_dst, C_src)`` mask of connected pairs, and the wiring of every slice of dst."""

    kernels: torch.Tensor
    connected: torch.Tensor
    paths: tuple[DirectPathInfo, ...]


def _outer_name(pieces: list[Piece], piece: Piece) -> str:
    """The name the model gives these channels: the outermost module whose output they
    are (``mixed3b_5x5`` for the ReLU after ``mixed3b_5x5_pre_relu_conv``)."""
    same = [p for p in pieces if p.start == piece.start and p.count == piece.count]
    return same[-1].layer if same else piece.layer


def _route(wiring: Wiring, conv: str, src: str, seen: frozenset[str] = frozenset()) -> list[str] | None:
    """The convs between ``src`` and ``conv``'s input (named as the model names their
    outputs), or None if ``conv`` does not depend on ``src`` through convs."""
    pieces = wiring.conv_inputs.get(conv, [])
    if any(p.layer == src for p in pieces):
        return []
    for piece in pieces:
        if piece.layer in wiring.conv_inputs and piece.layer not in seen:
            before = _route(wiring, piece.layer, src, seen | {conv})
            if before is not None:
                return [*before, _outer_name(pieces, piece)]
    return None


def direct_kernels(model: nn.Module, src: str, dst: str, input_size: int) -> DirectWeights:
    """The direct weights from ``src`` to ``dst`` and how each slice of dst is wired."""
    wiring = trace(model, input_size)
    modules = dict(model.named_modules())
    for name in (src, dst):
        if name not in wiring.outputs:
            raise InvalidInput(f"model has no layer named {name!r} that runs")
    c_src = wiring.outputs[src][-1].count
    c_dst = wiring.outputs[dst][-1].count
    blocks, paths = [], []
    for out_piece in wiring.outputs[dst]:
        conv = modules.get(out_piece.layer)
        if not isinstance(conv, nn.Conv2d) or out_piece.layer not in wiring.conv_inputs:
            continue
        if conv.groups != 1:
            raise InvalidInput(f"grouped convolution {out_piece.layer} is not supported")
        name = _outer_name(wiring.outputs[dst], out_piece)
        rows = slice(out_piece.layer_start, out_piece.layer_start + out_piece.count)
        reads = [p for p in wiring.conv_inputs[out_piece.layer] if p.layer == src]
        for in_piece in reads:
            cols = slice(in_piece.start, in_piece.start + in_piece.count)
            blocks.append((out_piece, in_piece, conv.weight.detach()[rows, cols]))
            paths.append(DirectPathInfo(src, dst, out_piece.start, out_piece.count, in_piece.layer_start,
                                        in_piece.count, "pooled" if in_piece.pools else "direct", name,
                                        ", ".join(in_piece.pools)))
        route = None if reads else _route(wiring, out_piece.layer, src)
        if route:
            paths.append(DirectPathInfo(src, dst, out_piece.start, out_piece.count, 0, c_src, "indirect", name,
                                        " → ".join(route)))
    if not blocks:
        raise InvalidInput(f"no convolution reads {src} and writes {dst}: "
                           "use expanded weights for layers that are not adjacent")
    kh = max(w.shape[2] for *_, w in blocks)
    kw = max(w.shape[3] for *_, w in blocks)
    device = blocks[0][2].device
    kernels = torch.zeros(c_dst, c_src, kh, kw, device=device)
    connected = torch.zeros(c_dst, c_src, dtype=torch.bool, device=device)
    for out_piece, in_piece, w in blocks:
        dh, dw = kh - w.shape[2], kw - w.shape[3]
        padded = F.pad(w, (dw // 2, dw - dw // 2, dh // 2, dh - dh // 2))
        r = slice(out_piece.start, out_piece.start + out_piece.count)
        c = slice(in_piece.layer_start, in_piece.layer_start + in_piece.count)
        kernels[r, c] = padded
        connected[r, c] = True
    return DirectWeights(kernels, connected, tuple(paths))
