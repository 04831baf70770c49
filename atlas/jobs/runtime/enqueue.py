"""Queueing a layer's chunks or a layer pair's connections by catalogue addresses, for job
kinds of one's own (plugins, notebooks, benchmarks, tests).

The queue's storage (``atlas.jobs.chunks``, ``atlas.jobs.pairs``) takes the layers it
needs and never the catalogue; these helpers look the layers up in a catalogue and use its
queue. They check no role and write no audit entry: users queue the project's computes
through ``Catalog.enqueue_layer_compute`` and ``Catalog.enqueue_connections``, which do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from atlas.jobs.chunks import enqueue_chunks
from atlas.jobs.pairs import enqueue_pair
from atlas.vocabulary import DEFAULT_CHUNK_SIZE, DEFAULT_CHUNK_UNITS

if TYPE_CHECKING:
    from atlas.catalog import Catalog


def enqueue_layer_chunks(
    catalog: Catalog, kind: str, model: str, layer: str, units: Sequence[int] | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE, params: dict | None = None, priority: int = 0, max_attempts: int = 3,
) -> list[int]:
    """Enqueue ``kind`` over ``units`` of ``model/layer`` (default: all of its channels) in
    chunks of ``chunk_size`` units; returns the job ids, existing ones included."""
    return enqueue_chunks(catalog.job_queue, kind, catalog.layer(f"{model}/{layer}"), units, chunk_size,
                          params, priority, max_attempts)


def enqueue_connections(catalog: Catalog, model: str, src: str, dst: str, kind: str, k: int = 20,
                        chunk_size: int = DEFAULT_CHUNK_UNITS, replace: bool = False,
                        dataset: dict | None = None, priority: int = 0) -> list[int]:
    """Enqueue the ``kind`` connections of ``model``'s ``src -> dst`` (``atlas.jobs.pairs``)."""
    src_layer, dst_layer = catalog.layer(f"{model}/{src}"), catalog.layer(f"{model}/{dst}")
    return enqueue_pair(catalog.job_queue, src_layer, dst_layer, kind, k, chunk_size, replace, dataset, priority)
