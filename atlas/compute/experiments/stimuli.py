"""The images of an experiment and the condition each belongs to.

:func:`resolve_stimuli` is the one place a stimuli spec becomes images: a dataset spec
(``atlas.compute.datasets.spec``; an image's condition is its class, or its folder's
name), or a parametric sweep of the sweep registry (``atlas.compute.datasets.sweep_spec``,
every named sweep: orientation, curvature, hue, ...; drawn by ``sweeps.iter_sweep``).
A sweep's condition is its parameter's value at a step (``f"{value:g}"``: "0", "22.5");
each step is drawn ``samples`` times, each sample jittered (a seeded shift of up to
``JITTER_SHIFT`` of the image side and a contrast between ``JITTER_CONTRAST`` and 1
around mid grey), so a confidence interval over stimuli means something rather than
resampling one image.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from atlas.compute.datasets.spec import open_dataset
from atlas.compute.datasets.sweep_spec import sweep_values
from atlas.compute.datasets.sweeps import iter_sweep
from atlas.experiments.spec import sweep_of

JITTER_SHIFT = 0.06  # of the image side, in each direction
JITTER_CONTRAST = 0.6  # the lowest contrast scale, around mid grey


@dataclass(frozen=True)
class Stimuli:
    images: torch.Tensor  # (N, 3, H, W) in [0, 1]
    conditions: list[str]  # the condition of each image
    order: list[str]  # the conditions in the order a plot shows them


def jitter(image: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """``image`` (3, H, W) shifted by a few pixels (its border repeated) and at a lower contrast."""
    size = image.shape[-1]
    reach = max(1, round(JITTER_SHIFT * size))
    dx, dy = (int(v) for v in rng.integers(-reach, reach + 1, 2))
    padded = F.pad(image[None], (reach, reach, reach, reach), mode="replicate")[0]
    shifted = padded[:, reach + dy:reach + dy + image.shape[-2], reach + dx:reach + dx + size]
    return (0.5 + float(rng.uniform(JITTER_CONTRAST, 1.0)) * (shifted - 0.5)).clamp(0, 1)


def sweep_stimuli(spec: dict, samples: int, seed: int) -> Stimuli:
    """``samples`` jittered draws of each step of the checked, sized sweep ``spec``."""
    order = [f"{value:g}" for value in sweep_values(spec)]
    clean = torch.cat(list(iter_sweep(spec)))
    images, conditions = [], []
    for step, (image, name) in enumerate(zip(clean, order, strict=True)):
        for sample in range(samples):
            images.append(jitter(image, np.random.default_rng((seed, step, sample))))
            conditions.append(name)
    return Stimuli(torch.stack(images), conditions, order)


def _dataset_stimuli(spec: dict) -> Stimuli:
    dataset = open_dataset(spec)
    classes = getattr(dataset, "classes", None)
    paths = getattr(dataset, "paths", None)
    images, conditions = [], []
    for batch, labels in DataLoader(dataset, batch_size=256, shuffle=False):
        images.append(batch)
        for label in labels.tolist():
            conditions.append(classes[label] if classes is not None
                              else Path(paths[label]).parent.name if paths is not None else "all")
    order = list(classes) if classes is not None else sorted(set(conditions))
    return Stimuli(torch.cat(images), conditions, [c for c in order if c in set(conditions)])


def resolve_stimuli(spec: dict, input_size: int) -> Stimuli:
    """The images of a checked stimuli spec; a sweep is drawn at ``input_size`` unless it
    names its own size."""
    if "sweep" in spec:
        sweep = sweep_of(spec)
        return sweep_stimuli({**sweep, "size": int(sweep.get("size", input_size))}, int(spec.get("samples", 8)),
                             int(spec.get("seed", 0)))
    return _dataset_stimuli(spec["dataset"])
