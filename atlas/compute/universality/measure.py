"""One chunk of a comparison: its stimuli streamed once through both models, reduced to
moments (``atlas.compute.universality.moments``) as they go.

Every layer of each model is read before its nonlinearity (``site="pre"``,
``atlas.compute.preactivation``: a rectified unit that is silent on most images would
correlate with nothing) and averaged over positions; the two layers being matched are
also kept per position when their maps have the same size (a position's activation
vector is then one more sample: same place, same image). The pooled vector of all
layers of both models feeds the per-feature correlations and every layer pair's CKA.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Subset

from atlas.compute.capture import batch_images, capture, eval_mode
from atlas.compute.datasets.spec import open_dataset
from atlas.compute.datasets.sweeps import iter_sweep
from atlas.compute.preactivation import Site
from atlas.compute.universality.moments import Moments
from atlas.errors import InvalidInput

SITE: Site = "pre"
BATCH = 64
Progress = Callable[[int, "int | None", "str | None"], None]


@dataclass
class Side:
    """One model of a comparison: the model, its input size, all its layers (the CKA's)
    and the layer whose features are matched."""

    model: nn.Module
    size: int
    layers: list[str]
    matched: str


@dataclass
class ChunkMoments:
    """A chunk's statistics: ``widths_a``/``widths_b`` are each layer's width in the pooled
    vector (A's layers first); ``spatial`` is None when the matched maps differ in size."""

    widths_a: list[int]
    widths_b: list[int]
    pooled: Moments
    spatial: Moments | None


def part_images(part: dict, size: int, batch_size: int = BATCH) -> Iterator[torch.Tensor]:
    """The images of a chunk's part of the stimulus set: a range of a dataset, or a sweep."""
    if "sweep" in part:
        yield from iter_sweep(part["sweep"], size, batch_size)
        return
    dataset = open_dataset(part["dataset"])
    stop = len(dataset) if part.get("stop") is None else min(int(part["stop"]), len(dataset))  # type: ignore[arg-type]
    subset = Subset(dataset, range(int(part["start"]), stop))
    for batch in DataLoader(subset, batch_size=batch_size, shuffle=False):
        yield batch_images(batch)


def _fit(images: torch.Tensor, size: int) -> torch.Tensor:
    """The images at a model's input size (the stimulus set is drawn at model A's)."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    return F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)


def _pooled(act: torch.Tensor) -> torch.Tensor:
    return act.flatten(2).mean(dim=2) if act.dim() > 2 else act.flatten(1)


def _positions(act: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N*H*W, C): each position of each image a sample."""
    return act.permute(0, 2, 3, 1).reshape(-1, act.shape[1])


def measure_part(a: Side, b: Side, part: dict, device: str | torch.device,
                 batch_size: int = BATCH, progress: Progress | None = None) -> ChunkMoments:
    """Stream ``part`` of a stimulus set through both models and return its moments."""
    return measure(a, b, part_images(part, a.size, batch_size), device, progress)


@torch.no_grad()
def measure(a: Side, b: Side, batches: Iterable[torch.Tensor], device: str | torch.device,
            progress: Progress | None = None) -> ChunkMoments:
    """Stream ``batches`` of images (at model A's input size) through both models and
    return their moments."""
    pooled: Moments | None = None
    spatial: Moments | None = None
    widths: tuple[list[int], list[int]] = ([], [])
    same_maps = True
    done = 0
    with eval_mode(a.model), eval_mode(b.model):
        for images in batches:
            acts_a = capture(a.model, a.layers, _fit(images, a.size), None, SITE)
            acts_b = capture(b.model, b.layers, _fit(images, b.size), None, SITE)
            columns = [_pooled(acts_a[name]) for name in a.layers] + [_pooled(acts_b[name]) for name in b.layers]
            if pooled is None:
                widths = ([c.shape[1] for c in columns[:len(a.layers)]], [c.shape[1] for c in columns[len(a.layers):]])
                pooled = Moments.empty(sum(c.shape[1] for c in columns), device)
            pooled.add(torch.cat(columns, dim=1))
            map_a, map_b = acts_a[a.matched], acts_b[b.matched]
            same_maps = same_maps and map_a.dim() == 4 and map_b.dim() == 4 and map_a.shape[2:] == map_b.shape[2:]
            if same_maps:
                if spatial is None:
                    spatial = Moments.empty(map_a.shape[1] + map_b.shape[1], device)
                spatial.add(torch.cat([_positions(map_a), _positions(map_b)], dim=1))
            done += images.shape[0]
            if progress is not None:
                progress(done, None, f"compare {a.matched} ~ {b.matched}: {done} images")
    if pooled is None:
        raise InvalidInput("this part of the stimulus set has no images")
    return ChunkMoments(widths[0], widths[1], pooled, spatial if same_maps else None)


def blocks(widths: Sequence[int], offset: int = 0) -> list[slice]:
    """Consecutive slices of the given widths, from ``offset``."""
    out, start = [], offset
    for width in widths:
        out.append(slice(start, start + width))
        start += width
    return out
