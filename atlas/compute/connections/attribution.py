"""Attribution edges: how much a source unit's activity drives a destination unit on data.

Weights say what a unit could do; attribution says what it does on a dataset: activation
times gradient, ``a_src(x, p) * d(sum_q a_dst(x, q)) / d a_src(x, p)`` summed over the
positions ``p`` of the source map and averaged over the images ``x``. This is computed in
the real (nonlinear) network. One backward pass per destination unit and batch, so the
cost grows with the destination's width: meant for chosen layers, not whole models.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from atlas.compute.capture import model_device
from atlas.compute.connections.selection import check_units
from atlas.compute.hooks import tap
from atlas.errors import InvalidInput

Progress = Callable[[int, "int | None", "str | None"], None]


def _positions(x: torch.Tensor) -> torch.Tensor:
    """``(N, C, positions)``: a map's positions in one axis; a layer without spatial axes
    (a linear layer, ``(N, C)``) has one position."""
    return x.reshape(x.shape[0], x.shape[1], -1)


def attribution_matrix(model: nn.Module, src: str, dst: str, dataset: Dataset,
                       units: Sequence[int] | None = None, batch_size: int = 32,
                       progress: Progress | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(mean, positive, negative)`` ``(units, C_src)`` matrices (all of dst's units by
    default): the mean attribution and the mean positive and negative (magnitude) parts of
    its per-position terms."""
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False)
    device = model_device(model)
    totals: list[torch.Tensor] | None = None
    count = 0
    # src's output becomes a leaf that requires grad: the gradient stops there.
    leaf = {src: lambda out: out.detach().requires_grad_(True)}
    with tap(model, [src, dst], stop_after=dst, replace=leaf, repeat="last") as taps:
        for batch in loader:
            images = (batch[0] if isinstance(batch, (list, tuple)) else batch).to(device)
            with torch.enable_grad():
                taps.run(images)
                if taps.missing():
                    raise InvalidInput(f"layer {dst} must run after {src}")
                a, y = taps[src], taps[dst]
                per_unit = _positions(y).sum(2)  # (N, C_dst)
                wanted = range(per_unit.shape[1]) if units is None else units
                check_units(wanted, per_unit.shape[1], dst)
                rows = []
                for unit in wanted:
                    (g,) = torch.autograd.grad(per_unit[:, unit].sum(), a, retain_graph=True)
                    terms = _positions((a * g).detach())  # (N, C_src, positions)
                    rows.append(torch.stack([terms.sum(2).sum(0), terms.clamp(min=0).sum(2).sum(0),
                                             (-terms).clamp(min=0).sum(2).sum(0)]))
            batch_totals = torch.stack(rows, dim=1)  # (3, units, C_src)
            totals = batch_totals if totals is None else totals + batch_totals
            count += images.shape[0]
            if progress is not None:
                progress(count, len(dataset), f"attribution {src} -> {dst}")
    if totals is None:
        raise InvalidInput("attribution needs a dataset with at least one image")
    mean = totals / count
    return mean[0], mean[1], mean[2]
