"""The images of an experiment and the condition each belongs to.

:func:`resolve_stimuli` is the one place a stimuli spec becomes images: a dataset spec
(``atlas.compute.datasets.spec``; an image's condition is its class, or its folder's
name), or a parametric sweep by name (a condition per step, several jittered samples per
step so a confidence interval over stimuli means something). The tuning-curve sweeps plug
in by registering in :data:`SWEEP_RENDERERS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from atlas.compute.datasets import synthetic
from atlas.compute.datasets.spec import open_dataset


@dataclass(frozen=True)
class Stimuli:
    images: torch.Tensor  # (N, 3, H, W) in [0, 1]
    conditions: list[str]  # the condition of each image
    order: list[str]  # the conditions in the order a plot shows them


def orientation_sweep(steps: int, samples: int, seed: int, size: int) -> Stimuli:
    """Grey step edges at ``steps`` orientations in [0, 180) degrees (condition: the angle
    in degrees), each drawn ``samples`` times with a jittered position and a random
    polarity and contrast."""
    images, conditions, order = [], [], []
    for step in range(steps):
        degrees = 180.0 * step / steps
        name = f"{degrees:g}"
        order.append(name)
        for sample in range(samples):
            rng = np.random.default_rng((seed, step, sample))
            low, high = rng.uniform(0.1, 0.4), rng.uniform(0.6, 0.9)
            fg, bg = (high, low) if rng.random() < 0.5 else (low, high)
            angle = np.deg2rad(degrees) + (np.pi if rng.random() < 0.5 else 0.0)
            cx, cy = rng.uniform(-0.05, 0.05, 2) * size
            img = synthetic.edge(size, angle, cx, cy, np.full(3, fg, np.float32), np.full(3, bg, np.float32))
            images.append(torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32)).permute(2, 0, 1))
            conditions.append(name)
    return Stimuli(torch.stack(images), conditions, order)


SWEEP_RENDERERS: dict[str, Callable[[int, int, int, int], Stimuli]] = {"orientation": orientation_sweep}


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
        render = SWEEP_RENDERERS[spec["sweep"]]
        return render(int(spec.get("steps", 36)), int(spec.get("samples", 8)), int(spec.get("seed", 0)),
                      int(spec.get("size", input_size)))
    return _dataset_stimuli(spec["dataset"])
