"""Direct weights: the kernels of the convolutions that read one layer and write the next.

The wiring (``atlas.compute.connections.wiring``) says which conv writes which slice of the
destination and which slice of its input is the source, so a destination that is a
concatenation (an Inception block) gets, per branch, the weights of that branch's conv,
and a conv that reads a slice of a concatenation is cut to that slice. Kernels of
different sizes (1x1 and 3x3 branches) are zero-padded, centred, to the largest.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from atlas.compute.connections.wiring import trace
from atlas.errors import InvalidInput


def direct_kernels(model: nn.Module, src: str, dst: str,
                   input_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(kernels, connected)``: ``(C_dst, C_src, kh, kw)`` weights (zero where no conv
    connects the two units) and the ``(C_dst, C_src)`` mask of connected pairs."""
    wiring = trace(model, input_size)
    modules = dict(model.named_modules())
    for name in (src, dst):
        if name not in wiring.outputs:
            raise InvalidInput(f"model has no layer named {name!r} that runs")
    c_src = wiring.outputs[src][-1].count
    c_dst = wiring.outputs[dst][-1].count
    blocks = []
    for out_piece in wiring.outputs[dst]:
        conv = modules.get(out_piece.layer)
        if not isinstance(conv, nn.Conv2d) or out_piece.layer not in wiring.conv_inputs:
            continue
        if conv.groups != 1:
            raise InvalidInput(f"grouped convolution {out_piece.layer} is not supported")
        rows = slice(out_piece.layer_start, out_piece.layer_start + out_piece.count)
        for in_piece in wiring.conv_inputs[out_piece.layer]:
            if in_piece.layer == src:
                cols = slice(in_piece.start, in_piece.start + in_piece.count)
                blocks.append((out_piece, in_piece, conv.weight.detach()[rows, cols]))
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
    return kernels, connected
