"""Feature visualization (Lucid-grade): optimize images that excite a unit or direction.

Parameterizations (``param``), transformation robustness (``transforms``), objectives
(``objectives``) and the batched optimizer (``render``) are separate concepts; ``store``
is the glue that renders a layer's units into the catalogue as artifacts.
"""

from atlas.compute.optvis.objectives import (
    VIS_KINDS,
    BatchObjective,
    Objective,
    channel,
    direction,
    direction_cossim,
    direction_neuron,
    direction_objectives,
    diverse,
    negative,
    neuron,
    unit_objectives,
)
from atlas.compute.optvis.param import FourierImage, PixelImage, make_param
from atlas.compute.optvis.render import RenderParams, RenderResult, render_batch, render_units
from atlas.compute.optvis.transforms import Jitter, Pad, RandomRotate, RandomScale, standard_transforms

__all__ = [
    "VIS_KINDS", "BatchObjective", "FourierImage", "Jitter", "Objective", "Pad", "PixelImage",
    "RandomRotate", "RandomScale", "RenderParams", "RenderResult", "channel", "direction",
    "direction_cossim", "direction_neuron", "direction_objectives",
    "diverse", "make_param", "negative", "neuron", "render_batch", "render_units",
    "standard_transforms", "unit_objectives",
]
