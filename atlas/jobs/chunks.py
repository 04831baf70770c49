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


def job_dedupe_key(kind: str, readable: str, params: dict) -> str:
    """``readable`` made unique by a hash of the kind and every parameter."""
    canonical = json.dumps({"kind": kind, "params": params}, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:24]
    return f"{readable[:DEDUPE_KEY_LENGTH - len(digest) - 1]}:{digest}"


def chunk_dedupe_key(kind: str, params: dict) -> str:
    """A readable key (``kind:model/layer:first-last``, ``…:dir:first-last`` for a chunk
    of directions) made unique by a hash of everything."""
    units, names = params["units"], params.get("directions", [])
    first, last = (units[0], units[-1]) if units else (f"dir:{names[0]}", names[-1])
    return job_dedupe_key(kind, f"{kind}:{params['model']}/{params['layer']}:{first}-{last}", params)


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
    directions: Sequence[str] = (),
) -> list[int]:
    """Enqueue ``kind`` over ``units`` of ``layer`` (default: all of its channels, or none
    when ``directions`` are named) and over its ``directions`` (names the caller has
    checked), in chunks of ``chunk_size``; returns the job ids, existing ones included.
    A chunk of directions carries ``units: []`` and ``directions: [names]``."""
    check_chunk_size(chunk_size)
    model, name, channels = layer.model, layer.name, layer.channels
    units = list(range(channels) if units is None and not directions else units or [])
    bad = [u for u in units if isinstance(u, bool) or not isinstance(u, int) or not 0 <= u < channels]
    if bad:
        raise InvalidInput(f"units {bad[:5]} are outside {model}/{name} (0 to {channels - 1})")
    units = sorted(set(units))
    names = sorted(set(directions))
    if not units and not names:
        raise InvalidInput("no units to compute")
    base = dict(params or {})
    chunks: list[dict[str, list[int] | list[str]]] = [
        {"units": units[start:start + chunk_size]} for start in range(0, len(units), chunk_size)]
    chunks += [{"units": [], "directions": names[start:start + chunk_size]}
               for start in range(0, len(names), chunk_size)]
    specs = []
    for targets in chunks:
        chunk_params = {**base, "model": model, "layer": name, **targets}
        try:
            key = chunk_dedupe_key(kind, chunk_params)
        except TypeError as exc:
            raise InvalidInput(f"job params must be JSON: {exc}") from None
        specs.append(JobSpec(kind, chunk_params, priority, key, max_attempts))
    return queue.enqueue_many(specs)
