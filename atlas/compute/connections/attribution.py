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
from atlas.errors import InvalidInput

Progress = Callable[[int, "int | None", "str | None"], None]


class _Reached(Exception):
    pass


def attribution_matrix(model: nn.Module, src: str, dst: str, dataset: Dataset,
                       units: Sequence[int] | None = None, batch_size: int = 32,
                       progress: Progress | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(mean, positive, negative)`` ``(units, C_src)`` matrices (all of dst's units by
    default): the mean attribution and the mean positive and negative (magnitude) parts of
    its per-position terms."""
    modules = dict(model.named_modules())
    for name in (src, dst):
        if name not in modules:
            raise InvalidInput(f"model has no layer named {name!r}")
    seen: dict = {}

    def on_src(_m, _a, out):
        seen["src"] = out.detach().requires_grad_(True)
        return seen["src"]

    def on_dst(_m, _a, out):
        seen["dst"] = out
        raise _Reached

    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False)
    device = model_device(model)
    totals: list[torch.Tensor] | None = None
    count = 0
    handles = [modules[src].register_forward_hook(on_src), modules[dst].register_forward_hook(on_dst)]
    try:
        for batch in loader:
            images = (batch[0] if isinstance(batch, (list, tuple)) else batch).to(device)
            seen.clear()
            with torch.enable_grad():
                try:
                    model(images)
                except _Reached:
                    pass
                if "dst" not in seen or "src" not in seen:
                    raise InvalidInput(f"layer {dst} must run after {src}")
                a, y = seen["src"], seen["dst"]
                per_unit = y.flatten(2).sum(2)  # (N, C_dst)
                wanted = range(per_unit.shape[1]) if units is None else units
                check_units(wanted, per_unit.shape[1], dst)
                rows = []
                for unit in wanted:
                    (g,) = torch.autograd.grad(per_unit[:, unit].sum(), a, retain_graph=True)
                    terms = (a * g).detach().flatten(2)  # (N, C_src, positions)
                    rows.append(torch.stack([terms.sum(2).sum(0), terms.clamp(min=0).sum(2).sum(0),
                                             (-terms).clamp(min=0).sum(2).sum(0)]))
            batch_totals = torch.stack(rows, dim=1)  # (3, units, C_src)
            totals = batch_totals if totals is None else totals + batch_totals
            count += images.shape[0]
            if progress is not None:
                progress(count, len(dataset), f"attribution {src} -> {dst}")
    finally:
        for h in handles:
            h.remove()
    if totals is None:
        raise InvalidInput("attribution needs a dataset with at least one image")
    mean = totals / count
    return mean[0], mean[1], mean[2]
