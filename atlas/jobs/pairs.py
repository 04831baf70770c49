"""Enqueueing the connections of a layer pair: chunk jobs over the destination's units, then
one ranking job that waits for them all (the job kinds are in ``atlas.compute.connections.jobs``).

Kept free of torch, so the app and the CLI can queue work without loading it.
"""

from __future__ import annotations

import hashlib
import json

from atlas.errors import InvalidInput
from atlas.jobs.chunks import LayerShape, enqueue_chunks
from atlas.jobs.params import check_params
from atlas.jobs.queue import JobQueue
from atlas.jobs.records import JobSpec
from atlas.vocabulary import DEFAULT_CHUNK_UNITS


def enqueue_pair(queue: JobQueue, src_layer: LayerShape, dst_layer: LayerShape, kind: str, k: int = 20,
                 chunk_size: int = DEFAULT_CHUNK_UNITS, replace: bool = False,
                 dataset: dict | None = None, priority: int = 0) -> list[int]:
    """Enqueue the ``kind`` connections of one model's ``src -> dst``: chunk jobs of
    ``chunk_size`` destination units, then the ranking job that waits for them. Returns
    all their ids (the ranking job last); enqueueing the same again finds the same jobs."""
    model, src, dst = dst_layer.model, src_layer.name, dst_layer.name  # one model: the caller checks
    if kind == "attribution" and dataset is None:
        raise InvalidInput("attribution edges need a dataset")
    params = check_params("connections", {"src": src, "kind": kind, "k": k, "force": replace,
                                          **({"dataset": dataset} if dataset is not None and kind != "direct"
                                             else {})})
    if src_layer.order >= dst_layer.order:
        raise InvalidInput(f"{model}/{src} does not come before {dst}: connections go forwards")
    chunks = enqueue_chunks(queue, "connections", dst_layer, None, chunk_size, params, priority)
    digest = hashlib.sha256(json.dumps(chunks).encode()).hexdigest()[:16]
    rank = JobSpec("connections.rank", {"model": model, "src": src, "dst": dst, "kind": kind, "k": k,
                                        "replace": replace}, priority,
                   f"connections.rank:{kind}:{model}/{src}->{dst}:k{k}:{digest}", after=tuple(chunks))
    return [*chunks, *queue.enqueue_many([rank])]
