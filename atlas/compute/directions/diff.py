"""A direction from two image sets: the mean activation over set A minus that over set B.

The activations are the layer's *pre-activations* (``atlas.compute.preactivation``), the
site objectives and dataset examples read (a direction's visualization and examples
project the pre-activation on it): after a ReLU, a channel that set A inhibits more than
set B would read 0 on both and drop out of the difference. The mean is over images and
positions, so the vector is one number per channel: what the layer does more on A's
images than on B's (Kim et al.'s concept vectors use a linear
probe; the difference of means is the probe-free, deterministic form). It keeps its
magnitude, in the layer's units: a large difference is a strong one.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import Dataset

from atlas.compute.capture import collect_activations
from atlas.compute.preactivation import Site
from atlas.errors import InvalidInput

SITE: Site = "pre"  # where a difference of means reads the layer


def mean_activation(model: nn.Module, layer: str, dataset: Dataset, batch_size: int = 64) -> torch.Tensor:
    """The (C,) mean pre-activation over ``dataset``'s images and the layer's positions."""
    if len(dataset) == 0:  # type: ignore[arg-type]
        raise InvalidInput("a mean activation needs a dataset with at least one image")
    per_image = collect_activations(model, [layer], dataset, batch_size, reduction="mean", site=SITE)[layer]
    return per_image.double().mean(dim=0).float()


def mean_difference(model: nn.Module, layer: str, a: Dataset, b: Dataset, batch_size: int = 64) -> torch.Tensor:
    """mean activation over ``a`` minus mean activation over ``b`` (C,)."""
    return mean_activation(model, layer, a, batch_size) - mean_activation(model, layer, b, batch_size)
