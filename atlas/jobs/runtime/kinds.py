"""Job kinds: what a worker can run, and the contract between a kind and the worker.

A kind is a function ``handler(ctx: JobContext) -> JobOutput`` registered under a name::

    @job_kind("vis.channel")
    def render_channels(ctx: JobContext) -> JobOutput:
        for i, unit in enumerate(ctx.params["units"]):
            ctx.check_stop()                     # graceful shutdown: give the job back
            ...                                  # compute on ctx.device, blobs to ctx.catalog.blobs
            ctx.progress(i + 1, len(ctx.params["units"]), f"unit {unit}")
        return JobOutput(result={"units": n}, write=lambda session: session.add_all(rows))

The handler computes but does not write rows: its ``write`` runs inside the transaction
that marks the job done, guarded by the job's lease, so a result is stored exactly when
the job completes (a crashed or superseded worker writes nothing). Blobs are content-
addressed, so writing one twice is harmless and may happen in the handler.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from atlas.errors import InvalidInput, NotFound
from atlas.jobs.records import JobInfo, Write
from atlas.registry import Registry

if TYPE_CHECKING:
    from torch import nn

    from atlas.catalog import Catalog
    from atlas.compute.registration import ModelCache

# Modules that register the project's compute kinds, imported on the first lookup of a
# kind. Each compute issue adds its module here (e.g. "atlas.compute.optvis.jobs").
BUILTIN_KIND_MODULES: tuple[str, ...] = ("atlas.compute.optvis.jobs", "atlas.compute.connections.jobs",
                                         "atlas.compute.directions.jobs", "atlas.compute.experiments.jobs",
                                         "atlas.compute.tuning.jobs", "atlas.compute.universality.jobs")


@dataclass(frozen=True)
class JobOutput:
    """What a handler returns: a JSON result for the job row, the database writes that
    must commit together with the job's completion, and the blobs those rows name (the
    worker checks they are in its store before it commits)."""

    result: dict | None = None
    write: Write | None = None
    blobs: tuple[str, ...] = ()


class JobInterrupted(Exception):
    """Raised by a handler (``ctx.check_stop()``), or in it on a second Ctrl-C/SIGTERM, to
    give its job back unfinished; the attempt does not count."""


ProgressFn = Callable[[int, "int | None", "str | None"], None]


class JobContext:
    """What a handler gets: the job, the catalogue, the device, progress and stop signals."""

    def __init__(self, job: JobInfo, catalog: Catalog, device: str, progress: ProgressFn,
                 stopping: Callable[[], bool], models: ModelCache):
        self.job = job
        self.catalog = catalog
        self.device = device
        self._progress = progress
        self._stopping = stopping
        self._models = models

    def model(self, name: str) -> nn.Module:
        """The registered model ``name`` on this worker's device, loaded once per worker
        (shared by its jobs: do not change its weights)."""
        return self._models.get(name)

    @property
    def params(self) -> dict:
        return self.job.params

    @property
    def job_id(self) -> int:
        return self.job.id

    def progress(self, done: int, total: int | None = None, message: str | None = None) -> None:
        """Report progress; cheap to call often (written at most once a second)."""
        self._progress(done, total, message)

    @property
    def should_stop(self) -> bool:
        """True once the worker is shutting down or the job was cancelled or taken over."""
        return self._stopping()

    def check_stop(self) -> None:
        """Raise JobInterrupted if the handler should stop now."""
        if self._stopping():
            raise JobInterrupted(f"job {self.job.id} interrupted")


Handler = Callable[[JobContext], JobOutput]

KINDS: Registry[Handler] = Registry("job kind", BUILTIN_KIND_MODULES)
"""The job kinds by name; the built-in kind modules are imported on the first lookup."""


def register_kind(name: str, handler: Handler) -> None:
    """Register ``handler`` for jobs of kind ``name`` (one handler per name; the same
    function again, e.g. from a re-imported module, is not a clash)."""
    if not name or len(name) > 60:
        raise InvalidInput(f"invalid job kind {name!r} (1 to 60 characters)")
    KINDS.register(name, handler)


def job_kind(name: str) -> Callable[[Handler], Handler]:
    """Decorator form of :func:`register_kind`."""

    def decorate(handler: Handler) -> Handler:
        register_kind(name, handler)
        return handler

    return decorate


def handler_for(name: str) -> Handler:
    if name not in KINDS:
        raise NotFound(f"no job kind {name!r} in this worker (use --import MODULE)")
    return KINDS.get(name)


def registered_kinds() -> list[str]:
    return KINDS.names()


def import_kind_modules(modules: Iterable[str] = ()) -> list[str]:
    """Import the built-in kind modules and ``modules``; returns the registered kinds."""
    KINDS.load_builtins()
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise InvalidInput(f"cannot import job kinds from {module!r}: {exc}") from None
    return registered_kinds()
