"""Feature visualizations of a layer's units and directions, stored as catalogue artifacts.

An artifact is keyed by (unit, kind, parameters), and the parameters are every render
setting (``RenderParams.to_dict``), so a rerun with the same settings finds its artifacts
and skips them, and a different setting is a different artifact. Images go to the blob
store as PNGs; rows hold their sha256s: ``{"image": sha}``, or ``{"images": [sha, ...]}``
for the diversity kind. Rendering is batched across units and kinds, and each batch is
stored as soon as it is done, so memory stays bounded and an interrupted run keeps
what it finished.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from atlas.address import LayerAddress
from atlas.catalog import Catalog
from atlas.catalog.artifacts import params_key
from atlas.compute.optvis.render import (
    Progress,
    RenderParams,
    RenderResult,
    Target,
    progress_reporter,
    render_requests,
)
from atlas.errors import InvalidInput
from atlas.vocabulary import VIS_KINDS, vis_artifact_kind


def artifact_kind(kind: str) -> str:
    """``channel`` -> ``vis.channel``: the artifact kind of a visualization kind."""
    if kind not in VIS_KINDS:
        raise InvalidInput(f"unknown visualization kind {kind!r}; use one of {', '.join(VIS_KINDS)}")
    return vis_artifact_kind(kind)


def _exists(catalog: Catalog, address: str, kind: str, params: dict) -> bool:
    key = params_key(params)
    return any(params_key(a.params) == key for a in catalog.artifacts(address, artifact_kind(kind)))


def _batches(requests: list[tuple[str, Target]], params: RenderParams,
             max_batch: int) -> list[list[tuple[str, Target]]]:
    """Requests grouped so that each render holds at most ``max_batch`` images (at least
    one request: a diversity group is never split)."""
    batches: list[list[tuple[str, Target]]] = [[]]
    images = 0
    for request in requests:
        n = params.diversity_n if request[0] == "diversity" else 1
        if batches[-1] and images + n > max_batch:
            batches.append([])
            images = 0
        batches[-1].append(request)
        images += n
    return batches


def outcome(result: RenderResult) -> dict:
    """What the catalogue records about a render beside its images: the objective's final
    value (the weakest of a diversity group's) and the image contrast (pixel standard
    deviation on [0, 1], the flattest image's), from which a failed render is flagged
    (``atlas.catalog.artifacts.no_response``)."""
    contrast = result.images.reshape(len(result.images), -1).std(axis=1)
    return {"value": float(result.values.min()), "contrast": float(contrast.min())}


def encode(catalog: Catalog, kind: str, result: RenderResult) -> dict:
    """Put a result's images in the blob store; the artifact's blobs field."""
    shas = [catalog.blobs.put_png(image) for image in result.images]
    return {"images": shas} if kind == "diversity" else {"image": shas[0]}


def plan(catalog: Catalog, model_name: str, layer: str, units: Sequence[int], kinds: Sequence[str],
         params: RenderParams, force: bool, directions: Sequence[str] = (),
         ) -> tuple[list[tuple[str, Target]], list[dict]]:
    """(kind, target) requests still to render (targets: units, then directions by
    name), and what is skipped because it exists."""
    units = list(dict.fromkeys(int(u) for u in units))
    channels = catalog.layer(f"{model_name}/{layer}").channels
    bad = [u for u in units if not 0 <= u < channels]
    if bad:
        raise InvalidInput(f"{model_name}/{layer} has {channels} units; no unit {bad[0]}")
    for kind in kinds:
        artifact_kind(kind)
    targets: list[Target] = [*units, *dict.fromkeys(directions)]
    todo, skipped = [], []
    for kind in kinds:
        for target in targets:
            address = str(LayerAddress(model_name, layer).target(target))
            if not force and _exists(catalog, address, kind, params.to_dict(kind, isinstance(target, str))):
                skipped.append({"address": address, "kind": artifact_kind(kind)})
            else:
                todo.append((kind, target))
    return todo, skipped


def render_planned(model: nn.Module, layer: str, todo: list[tuple[str, Target]], params: RenderParams,
                   device: str | torch.device, max_batch: int, progress: Progress,
                   between_batches: Callable[[], None] = lambda: None,
                   vectors: Mapping[str, np.ndarray] | None = None,
                   ) -> Iterator[tuple[tuple[str, Target], RenderResult]]:
    """Render the planned requests batch by batch (directions' vectors in ``vectors``);
    ``between_batches`` runs before each (a job checks there whether it should stop)."""
    batches = _batches(todo, params, max_batch) if todo else []
    with progress_reporter(progress, params.steps * len(batches)) as step_done:
        for batch in batches:
            between_batches()
            results = render_requests(model, layer, batch, params, device,
                                      lambda _done, _total: step_done(), max_batch, vectors)
            yield from results.items()


def visualize_units(catalog: Catalog, model: nn.Module, model_name: str, layer: str,
                    units: Sequence[int], kinds: Sequence[str], params: RenderParams,
                    force: bool = False, progress: Progress = None,
                    device: str | torch.device = "auto", max_batch: int = 64,
                    directions: Sequence[str] = ()) -> dict:
    """Render and store the ``kinds`` visualizations of ``units`` and ``directions``
    (names of the layer's directions) of ``model_name/layer``.

    Existing artifacts with the same parameters are skipped unless ``force`` (which
    replaces them). ``progress``: ``True`` for a tqdm bar or ``callable(done, total)`` in
    optimization steps. Each batch is stored as soon as it is rendered. Returns
    ``{"rendered": [{"address", "kind", "values"}], "skipped": [{"address", "kind"}]}``.
    """
    todo, skipped = plan(catalog, model_name, layer, units, kinds, params, force, directions)
    vectors = catalog.direction_vectors(f"{model_name}/{layer}", list(dict.fromkeys(directions)))
    rendered = []
    for (kind, target), result in render_planned(model, layer, todo, params, device, max_batch, progress,
                                                 vectors=vectors):
        address = str(LayerAddress(model_name, layer).target(target))
        entry = {"address": address, "kind": artifact_kind(kind)}
        blobs = encode(catalog, kind, result)
        knobs = params.to_dict(kind, isinstance(target, str))
        if catalog.add_artifact(address, artifact_kind(kind), knobs, blobs, replace=force, outcome=outcome(result)):
            rendered.append({**entry, "values": result.values.tolist()})
        else:  # stored by a concurrent run since we looked
            skipped.append(entry)
    return {"rendered": rendered, "skipped": skipped}
