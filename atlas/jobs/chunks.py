"""Splitting a layer's units into chunk jobs, so several workers share one layer.

Each chunk is one job whose params are the caller's params plus ``model``, ``layer`` and
``units``. Its dedupe key is derived from all of them, so enqueueing the same compute twice
(a re-run command, two users) finds the existing jobs instead of doing the work again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Protocol

from atlas.errors import InvalidInput
from atlas.jobs.params import check_chunk_size
from atlas.jobs.queue import JobQueue
from atlas.jobs.records import JobSpec
from atlas.vocabulary import DEFAULT_CHUNK_SIZE

DEDUPE_KEY_LENGTH = 300  # the jobs.dedupe_key column


def chunk_dedupe_key(kind: str, params: dict) -> str:
    """A readable key (``kind:model/layer:first-last``) made unique by a hash of everything."""
    canonical = json.dumps({"kind": kind, "params": params}, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:24]
    units = params["units"]
    readable = f"{kind}:{params['model']}/{params['layer']}:{units[0]}-{units[-1]}"
    return f"{readable[:DEDUPE_KEY_LENGTH - len(digest) - 1]}:{digest}"


class LayerShape(Protocol):
    """What enqueueing needs to know of a layer (``atlas.catalog.records.LayerInfo`` is
    one): the queue takes it from its caller rather than asking the catalogue."""

    @property
    def model(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def channels(self) -> int: ...
    @property
    def order(self) -> int: ...


def enqueue_chunks(
    queue: JobQueue,
    kind: str,
    layer: LayerShape,
    units: Sequence[int] | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    params: dict | None = None,
    priority: int = 0,
    max_attempts: int = 3,
) -> list[int]:
    """Enqueue ``kind`` over ``units`` of ``layer`` (default: all of its channels) in
    chunks of ``chunk_size`` units; returns the job ids, existing ones included."""
    check_chunk_size(chunk_size)
    model, name, channels = layer.model, layer.name, layer.channels
    units = list(range(channels) if units is None else units)
    bad = [u for u in units if isinstance(u, bool) or not isinstance(u, int) or not 0 <= u < channels]
    if bad:
        raise InvalidInput(f"units {bad[:5]} are outside {model}/{name} (0 to {channels - 1})")
    units = sorted(set(units))
    if not units:
        raise InvalidInput("no units to compute")
    base = dict(params or {})
    specs = []
    for start in range(0, len(units), chunk_size):
        chunk_params = {**base, "model": model, "layer": name, "units": units[start:start + chunk_size]}
        try:
            key = chunk_dedupe_key(kind, chunk_params)
        except TypeError as exc:
            raise InvalidInput(f"job params must be JSON: {exc}") from None
        specs.append(JobSpec(kind, chunk_params, priority, key, max_attempts))
    return queue.enqueue_many(specs)
