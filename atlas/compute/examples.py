"""Dataset examples: the images that excite a unit most and least, with the patch that did.

The dataset is streamed once, batch by batch, through the model, reading each unit's
*pre-activation* (``atlas.compute.preactivation``: the value before its ReLU, so an image
can score below zero). An image's top score is the largest pre-activation over positions,
at its arg-max; its bottom score is the smallest, at its arg-min: the bottom examples are
the images that inhibit the unit most, where. (Read after the ReLU, every image that does
not excite a unit scores 0 and the "bottom" is a tie broken by dataset order.) A direction
is scored the same way on its map, the projection of the layer's pre-activation map on its
vector (the dot product at every position): a unit is the one-hot case. A running top-k of
the top scores and of the negated bottom scores (values, image indices and positions) is
kept on the device, so memory is bounded by ``features x k`` whatever the dataset's size.
The crop saved for an example is the exact box of the image that the layer sees at the
example's position (``atlas.compute.receptive_field``), clipped to the image. Crops are cut
when a row of them is read (``CropRows``), from a small cache of recently loaded images:
holding every crop of a layer at once (up to ``features x 2k`` boxes, each as large as the
image for a late layer) would cost gigabytes on a large model. The same pass bins every
image's top and bottom score per feature (``atlas.compute.activation_histogram``, fixed
bins, so memory stays bounded): the distribution the examples are the extremes of, stored
beside them as the ``histogram`` blob (``atlas.catalog.histogram``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import TYPE_CHECKING, overload

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from atlas.address import LayerAddress
from atlas.catalog.api.examples import EXAMPLE_RECORD
from atlas.catalog.histogram import HISTOGRAM_BLOB, encode_histogram
from atlas.catalog.records import ActivationDistribution
from atlas.compute.activation_histogram import RunningHistogram
from atlas.compute.capture import iter_activations
from atlas.compute.preactivation import Site
from atlas.compute.receptive_field import CropBoxes, crop_boxes
from atlas.db.blobs import BlobStore
from atlas.errors import InvalidInput
from atlas.vocabulary import EXAMPLES_ARTIFACT

if TYPE_CHECKING:
    from atlas.catalog import Catalog

Progress = Callable[[int, "int | None", "str | None"], None]
RECORD = EXAMPLE_RECORD  # dataset index, the unit's pre-activation there ("value"), y, x
SITE: Site = "pre"  # where examples read a unit; recorded in the artifact's parameters
CACHED_IMAGES = 64  # dataset images kept for cutting crops (a 224 px image: 0.6 MB)


class CropRows(Sequence[list[np.ndarray]]):
    """The crops of each row of ``records`` (one row per feature), cut when a row is read:
    ``rows[i][j]`` is the box that record ``(i, j)``'s position sees in its image. Images
    come from ``images``, a cache shared by the top and bottom crops."""

    def __init__(self, records: np.ndarray, boxes: CropBoxes, images: _ImageCache):
        self.records, self.boxes, self.images = records, boxes, images

    def __len__(self) -> int:
        return len(self.records)

    @overload
    def __getitem__(self, row: int) -> list[np.ndarray]: ...

    @overload
    def __getitem__(self, row: slice) -> list[list[np.ndarray]]: ...

    def __getitem__(self, row: int | slice) -> list[np.ndarray] | list[list[np.ndarray]]:
        if isinstance(row, slice):
            return [self[i] for i in range(*row.indices(len(self)))]
        return [self.boxes.crop(self.images.get(int(rec["index"])), int(rec["y"]), int(rec["x"]))
                for rec in self.records[row]]


class _ImageCache:
    """The last ``size`` dataset images read, as HxWx3 arrays, by index."""

    def __init__(self, dataset: Dataset, size: int = CACHED_IMAGES):
        self.dataset, self.size = dataset, size
        self.images: OrderedDict[int, np.ndarray] = OrderedDict()

    def get(self, index: int) -> np.ndarray:
        if index in self.images:
            self.images.move_to_end(index)
        else:
            self.images[index] = _image(self.dataset[index]).permute(1, 2, 0).numpy()
            if len(self.images) > self.size:
                self.images.popitem(last=False)
        return self.images[index]


@dataclass
class Examples:
    """Per feature (rows: ``units``, then ``directions``), the top and bottom examples,
    most extreme first: ``(features, k)`` ``RECORD`` arrays of dataset index,
    pre-activation value (a direction's: the projection) and its position (y, x) in the
    layer's map (the arg-max for top, the arg-min for bottom); ``crops`` are HxWx3 float
    arrays in [0, 1], same layout, cut when a row is read. ``distributions`` has, per row,
    how its per-image top (``"max"``) and bottom (``"min"``) scores are spread over the
    whole dataset."""

    layer: str
    units: list[int]
    top: np.ndarray
    bottom: np.ndarray
    top_crops: CropRows
    bottom_crops: CropRows
    field: tuple[int, int]
    directions: list[str] = dataclass_field(default_factory=list)
    distributions: list[dict[str, ActivationDistribution]] = dataclass_field(default_factory=list)

    @property
    def targets(self) -> list[int | str]:
        """What each row is: a unit's channel or a direction's name."""
        return [*self.units, *self.directions]


def feature_maps(acts: torch.Tensor, units: torch.Tensor, vectors: torch.Tensor | None) -> torch.Tensor:
    """(N, C, H, W) activations -> (N, U + D, H, W): the maps of ``units`` (channels), then
    the projection of the activations on each of the (D, C) ``vectors``."""
    maps = acts[:, units]
    if vectors is None or not len(vectors):
        return maps
    return torch.cat([maps, torch.einsum("nchw,dc->ndhw", acts, vectors.to(acts.dtype))], dim=1)


class _RunningTopK:
    """The k largest scores per row seen so far, with their payload (index, y, x)."""

    def __init__(self, rows: int, k: int, device: torch.device):
        self.values = torch.full((rows, 0), float("-inf"), device=device)
        self.payload = torch.zeros((rows, 0, 3), dtype=torch.long, device=device)
        self.k = k

    def update(self, values: torch.Tensor, payload: torch.Tensor) -> None:
        values = torch.cat([self.values, values], dim=1)
        payload = torch.cat([self.payload, payload], dim=1)
        best = values.topk(min(self.k, values.shape[1]), dim=1)
        self.values = best.values
        self.payload = payload.gather(1, best.indices[..., None].expand(-1, -1, 3))

    def records(self, sign: float) -> np.ndarray:
        out = np.zeros(self.values.shape, dtype=RECORD)
        payload = self.payload.cpu().numpy()
        out["value"] = sign * self.values.cpu().numpy()
        out["index"], out["y"], out["x"] = payload[..., 0], payload[..., 1], payload[..., 2]
        return out


def top_examples(model: nn.Module, layer: str, dataset: Dataset, units: Sequence[int] | None = None,
                 k: int = 9, device: str | torch.device | None = None, batch_size: int = 64,
                 progress: Progress | None = None, directions: Mapping[str, np.ndarray] | None = None,
                 ) -> Examples:
    """Top-``k`` (highest pre-activation) and bottom-``k`` (lowest) images of ``units`` of
    ``layer`` (all units by default) and of ``directions`` (``{name: vector}``, scored by
    the projection of the pre-activation map) over ``dataset`` (items ``image`` or
    ``(image, ...)``), with receptive-field crops."""
    if k < 1:
        raise InvalidInput(f"k must be at least 1, got {k}")
    model = model.eval() if device is None else model.to(device).eval()
    top = bottom = None
    seen = 0
    for batch in iter_activations(model, [layer], dataset, batch_size, site=SITE):
        acts = batch.activations[layer]
        if acts.dim() != 4:
            raise InvalidInput(f"dataset examples need a layer with 2-d maps; {layer} has none")
        chosen = torch.as_tensor(list(units) if units is not None else range(acts.shape[1]),
                                 dtype=torch.long, device=acts.device)
        if top is None:
            vectors = _vectors(directions, acts.shape[1], acts.device)
            rows = len(chosen) + len(directions or {})
            top, bottom = (_RunningTopK(rows, k, acts.device) for _ in range(2))
            spread = {"max": RunningHistogram(rows), "min": RunningHistogram(rows)}
            map_width = acts.shape[3]
        flat = feature_maps(acts, chosen, vectors).flatten(2)  # (N, U + D, positions)
        index = batch.indices.to(acts.device)[:, None].expand(-1, flat.shape[1])
        for running, sign in ((top, 1.0), (bottom, -1.0)):
            score, where = (sign * flat).max(dim=2)  # the arg-max, or (-1) the arg-min
            payload = torch.stack([index, where // map_width, where % map_width], dim=-1)
            running.update(score.T, payload.transpose(0, 1))
            spread["max" if sign > 0 else "min"].update(sign * score.float().cpu().numpy())
        seen += acts.shape[0]
        if progress is not None:
            progress(seen, len(dataset), f"examples {layer}")
    if top is None:
        raise InvalidInput("dataset examples need a dataset with at least one image")
    first = _image(dataset[0])
    boxes = crop_boxes(model, layer, (first.shape[-2], first.shape[-1]))
    top_rec, bottom_rec = top.records(1.0), bottom.records(-1.0)
    distributions = [{name: found for name, histogram in spread.items()
                      if (found := histogram.distribution(row)) is not None} for row in range(len(top_rec))]
    images = _ImageCache(dataset)
    return Examples(layer, chosen.tolist(), top_rec, bottom_rec,
                    CropRows(top_rec, boxes, images), CropRows(bottom_rec, boxes, images),
                    boxes.centre_size, list(directions or {}), distributions)


def _vectors(directions: Mapping[str, np.ndarray] | None, channels: int,
             device: torch.device) -> torch.Tensor | None:
    """The directions' vectors as a (D, C) tensor on ``device`` (None without directions)."""
    if not directions:
        return None
    for name, vector in directions.items():
        if np.shape(vector) != (channels,):
            raise InvalidInput(f"direction {name!r} has {np.size(vector)} numbers; the layer has {channels} channels")
    return torch.as_tensor(np.stack([np.asarray(v, np.float32) for v in directions.values()]), device=device)


def _image(item: object) -> torch.Tensor:
    return item if isinstance(item, torch.Tensor) else item[0]


def example_blobs(blobs: BlobStore, result: Examples, row: int) -> dict:
    """Blobs of one unit's examples: PNG crops (``top``, ``bottom``, most extreme first),
    a ``records`` array of ``RECORD`` (dataset index, pre-activation, y, x of each),
    shape (2, k): top then bottom, and the ``histogram`` of its per-image scores."""
    out = {
        "top": [blobs.put_png(c) for c in result.top_crops[row]],
        "bottom": [blobs.put_png(c) for c in result.bottom_crops[row]],
        "records": blobs.put_array(np.stack([result.top[row], result.bottom[row]])),
    }
    if row < len(result.distributions) and result.distributions[row]:
        out[HISTOGRAM_BLOB] = blobs.put_bytes(encode_histogram(result.distributions[row]))
    return out


def store_examples(catalog: Catalog, model: str, result: Examples, params: dict,
                   job_id: int | None = None, replace: bool = False) -> int:
    """One ``examples`` artifact per unit and direction (see ``example_blobs``).
    ``params`` describes the run (dataset, k, ...); returns how many artifacts were
    written (existing ones are kept unless ``replace``)."""
    return sum(
        catalog.add_artifact(LayerAddress(model, result.layer).target(target), EXAMPLES_ARTIFACT,
                             {**params, "field": list(result.field), "site": SITE},
                             example_blobs(catalog.blobs, result, row), job_id, replace)
        for row, target in enumerate(result.targets)
    )
