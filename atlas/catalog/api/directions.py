"""Directions as features: listing a layer's directions and reading their vectors, adding
one from a file, and queueing the computes that make them (the difference of two image
sets' mean activations, the factorization of a layer's activations). Part of the Catalog
API (mixed into ``atlas.catalog.Catalog``); the computes themselves are job kinds in
``atlas.compute.directions``, which write their directions when they complete."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from atlas.address import FeatureAddress, as_feature, as_layer, check_name
from atlas.catalog import directions
from atlas.catalog.records import FeatureInfo
from atlas.catalog.vector_file import parse_vector, read_vector_file
from atlas.errors import InvalidInput
from atlas.jobs.chunks import job_dedupe_key
from atlas.jobs.params import check_params
from atlas.jobs.records import JobSpec
from atlas.vocabulary import DIRECTION_CONNECTIONS_KIND

DIFF_KIND = "directions.diff"
NMF_KIND = "directions.nmf"


def nmf_names(prefix: str, n: int) -> list[str]:
    """The names of a factorization's directions: ``nmf8-0`` … ``nmf8-7``."""
    return [f"{prefix}{n}-{i}" for i in range(n)]


class DirectionsMixin:
    """Mixed into :class:`atlas.catalog.Catalog`; uses its sessions, blobs and queue."""

    def directions(self, layer: str) -> list[FeatureInfo]:
        """The directions of a layer, by name."""
        address = as_layer(layer)
        with self._reading() as session:
            names = directions.names(session, address)
        return [self.feature(address.direction(name)) for name in names]

    def direction_vector(self, feature: str | FeatureAddress) -> np.ndarray:
        """A direction's vector (float32, one number per channel of its layer)."""
        address = as_feature(feature)
        with self._reading() as session:
            sha = directions.vector_sha(session, address)
        return self.blobs.get_array(sha)

    def direction_vectors(self, layer: str, names: Sequence[str]) -> dict[str, np.ndarray]:
        """``{name: vector}`` of directions of ``layer``."""
        address = as_layer(layer)
        return {name: self.direction_vector(address.direction(name)) for name in names}

    def add_direction_file(self, layer: str, name: str, path: str | Path, author: str | None = None) -> FeatureInfo:
        """A direction whose vector is in a ``.npy`` or JSON file (``atlas.catalog.vector_file``)."""
        return self.add_direction(layer, name, read_vector_file(path), author)

    def add_direction_bytes(self, layer: str, name: str, data: bytes, filename: str,
                            author: str | None = None) -> FeatureInfo:
        """A direction whose vector is an uploaded ``.npy`` or JSON file's ``data``."""
        return self.add_direction(layer, name, parse_vector(data, filename), author)

    def enqueue_direction_diff(self, layer: str, name: str, a: dict, b: dict,
                               author: str | None = None) -> list[int]:
        """Queue the direction ``name`` of ``layer``: the mean activation (over images and
        positions) of dataset ``a`` minus that of dataset ``b`` (dataset specs,
        ``atlas.compute.datasets.spec``). Returns the job id in a list."""
        return self._enqueue_direction_job(layer, DIFF_KIND, [name], {"name": name, "a": a, "b": b}, author)

    def enqueue_direction_nmf(self, layer: str, n: int, dataset: dict, prefix: str = "nmf", seed: int = 0,
                              iterations: int = 500, author: str | None = None) -> list[int]:
        """Queue the non-negative factorization of ``layer``'s activations over
        ``dataset`` into ``n`` directions named ``{prefix}{n}-{i}`` (unit vectors, the
        factors that explain the most activation first). Returns the job id in a list."""
        params = {"n": n, "dataset": dataset, "prefix": prefix, "seed": seed, "iterations": iterations}
        check_params(NMF_KIND, params)
        return self._enqueue_direction_job(layer, NMF_KIND, nmf_names(prefix, n), params, author)

    def enqueue_direction_connections(self, layer: str, names: Sequence[str], kind: str = "direct", k: int = 20,
                                      force: bool = False, dataset: dict | None = None,
                                      author: str | None = None) -> list[int]:
        """Queue the ``kind`` (direct or expanded) connections of directions ``names`` of
        ``layer``: their inputs from the model's spatial layer before it and their outputs
        onto the one after (where there is one), one job each
        (``atlas.compute.connections.directions``). ``force`` replaces those stored;
        ``dataset`` is the operating point of expanded weights. Returns the job ids."""
        actor = self._job_actor(author, "queue compute jobs")
        address = as_layer(layer)
        self.model(address.model).check_not_imported()
        names = list(dict.fromkeys(names))
        for name in names:  # each must exist: one line now, not a failed job later
            self.feature(address.direction(name))
        spatial = [info.name for info in self.layers(address.model) if info.spatial_shape]
        if address.layer not in spatial:
            raise InvalidInput(f"{address} has no 2-d maps: its directions have no kernels")
        at = spatial.index(address.layer)
        sides = [(side, spatial[i]) for side, i in (("in", at - 1), ("out", at + 1)) if 0 <= i < len(spatial)]
        if not sides:
            raise InvalidInput(f"{address} is the model's only spatial layer: its directions have no connections")
        specs = []
        for side, other in sides:
            params = {"model": address.model, "layer": address.layer, "other": other, "side": side, "kind": kind,
                      "k": k, "directions": names, "force": force, **({"dataset": dataset} if dataset else {})}
            check_params(DIRECTION_CONNECTIONS_KIND, params)
            key = job_dedupe_key(DIRECTION_CONNECTIONS_KIND,
                                 f"{DIRECTION_CONNECTIONS_KIND}:{address}:{side}:{other}", params)
            specs.append(JobSpec(DIRECTION_CONNECTIONS_KIND, params, dedupe_key=key))
        return self._enqueue(actor, str(address), {"kind": DIRECTION_CONNECTIONS_KIND, "directions": names,
                                                   "edge_kind": kind, "k": k, "force": force},
                             lambda: self._queue.enqueue_many(specs))

    def _enqueue_direction_job(self, layer: str, kind: str, names: list[str], params: dict,
                               author: str | None) -> list[int]:
        """Queue one job that makes the directions ``names`` of ``layer`` (none may exist)."""
        actor = self._job_actor(author, "queue compute jobs")
        address = as_layer(layer)
        self.model(address.model).check_not_imported()
        check_params(kind, params)
        for name in names:
            check_name(name, "direction")
        taken = set(names) & {d.direction for d in self.directions(str(address))}
        if taken:
            raise InvalidInput(f"layer {address} already has directions {sorted(taken)}")
        params = {**params, "model": address.model, "layer": address.layer}
        key = job_dedupe_key(kind, f"{kind}:{address}:{names[0]}", params)
        return self._enqueue(actor, str(address), {"kind": kind, "params": params},
                             lambda: self._queue.enqueue_many([JobSpec(kind, params, dedupe_key=key)]))
