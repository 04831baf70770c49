"""Tuning curves: every unit's response along a parametric sweep, in one pass per batch.

The sweep's images (``atlas.compute.datasets.sweeps``) are streamed through the model
once; a unit's response to an image is its largest activation over positions (the
stimulus sits at the centre, but a unit anywhere in the map may see it best), so one
forward pass measures every unit of the layer at once, and the cost of a layer's curves
is the cost of the plain forward passes over the sweep. The activations are the layer's
output as the model computes it (``SITE``: post-activation for a layer that includes its
ReLU, as the demo models' do); the site is recorded with every stored curve.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from atlas.compute.capture import Reduction, capture, eval_mode
from atlas.compute.datasets.sweep_spec import DEFAULT_SWEEP_SIZE, SWEEPS, check_sweep, sweep_values
from atlas.compute.datasets.sweeps import iter_sweep
from atlas.compute.tuning.summary import summarize
from atlas.errors import InvalidInput

SITE = "post"  # the layer's output; capture has no pre-activation site yet
REDUCTION: Reduction = "max"
Progress = Callable[[int, "int | None", "str | None"], None]


@dataclass
class TuningCurves:
    """Responses (units x steps, rows in ``units`` order) of ``layer`` along the sweep
    ``spec`` (checked, with its image ``size``), at parameter ``values``."""

    layer: str
    units: list[int]
    spec: dict
    values: np.ndarray
    responses: np.ndarray

    @property
    def parameter(self) -> str:
        return SWEEPS.get(self.spec["sweep"]).parameter

    @property
    def cycle(self) -> float | None:
        return SWEEPS.get(self.spec["sweep"]).cycle

    def summaries(self) -> list[dict]:
        """Preferred value and selectivity of each unit (``atlas.compute.tuning.summary``)."""
        return summarize(self.values, self.responses, self.cycle)

    def params(self) -> dict:
        """What an artifact of these curves is keyed by: the sweep, the site, the reduction."""
        return {"sweep": self.spec, "site": SITE, "reduction": REDUCTION}


def sized_sweep(spec: object, size: int | None) -> dict:
    """The checked spec with its image size filled in (the model's input size by default)."""
    spec = check_sweep(spec)
    return {**spec, "size": int(spec.get("size", size or DEFAULT_SWEEP_SIZE))}


@torch.no_grad()
def tuning_curves(model: nn.Module, layer: str, spec: object, units: Sequence[int] | None = None,
                  size: int | None = None, device: str | torch.device | None = None, batch_size: int = 64,
                  progress: Progress | None = None) -> TuningCurves:
    """The response of ``units`` of ``layer`` (every unit by default) to each image of the
    sweep ``spec`` (``{"sweep": "orientation", "steps": 36}``; ``size`` when it names none)."""
    spec = sized_sweep(spec, size)
    if device is not None:
        model = model.to(device)
    rows: list[torch.Tensor] = []
    with eval_mode(model):
        for images in iter_sweep(spec, batch_size=batch_size):
            rows.append(capture(model, [layer], images, REDUCTION)[layer].float().cpu())
            if progress is not None:
                progress(sum(len(r) for r in rows), spec["steps"], f"tuning {layer} {spec['sweep']}")
    acts = torch.cat(rows)
    if acts.dim() != 2:
        raise InvalidInput(f"tuning curves need a layer with one value per unit; {layer} gives {tuple(acts.shape)}")
    chosen = list(range(acts.shape[1])) if units is None else [int(u) for u in units]
    bad = [u for u in chosen if not 0 <= u < acts.shape[1]]
    if bad:
        raise InvalidInput(f"layer {layer} has {acts.shape[1]} units; no unit {bad[0]}")
    values = np.asarray(sweep_values(spec), dtype=np.float64)
    return TuningCurves(layer, chosen, spec, values, acts[:, chosen].T.numpy().astype(np.float64))
