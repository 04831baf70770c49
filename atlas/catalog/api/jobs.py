"""Compute jobs as users see them: queueing a layer's compute or a layer pair's
connections (checked and audited), the queue's state, one job's details, cancel and retry.
Part of the Catalog API (mixed into ``atlas.catalog.Catalog``), on the catalogue's own
``JobQueue``."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from atlas.address import parse_layer
from atlas.catalog import audit
from atlas.catalog.resolve import require_role
from atlas.errors import InvalidInput
from atlas.jobs.chunks import enqueue_chunks
from atlas.jobs.pairs import enqueue_pair
from atlas.jobs.params import check_params
from atlas.jobs.records import JobInfo, WorkerActivity
from atlas.vocabulary import DEFAULT_CHUNK_SIZE, DEFAULT_CHUNK_UNITS


class JobsMixin:
    """Mixed into :class:`atlas.catalog.Catalog`; uses its sessions, acting user and queue."""

    def jobs(self, status: str | None = None, limit: int | None = 50, kind: str | None = None) -> list[JobInfo]:
        """The most recent compute jobs, newest first (``limit=None``: all of them)."""
        return self._queue.recent(status, kind, limit)

    def job_counts(self) -> dict[str, int]:
        return self._queue.counts()

    def worker_activity(self) -> WorkerActivity:
        """Whether any worker was seen in the last minute, and the recent rate of finished
        jobs (for the Jobs page's "no worker" notice and time-left estimate)."""
        return self._queue.worker_activity()

    def job(self, job_id: int) -> JobInfo:
        """One job (NotFound if there is none with that id)."""
        return self._queue.get(job_id)

    def jobs_by_id(self, job_ids: Sequence[int]) -> list[JobInfo]:
        """The jobs with these ids that exist, in id order."""
        return self._queue.get_many(job_ids)

    def job_dependencies(self, job_id: int) -> list[tuple[int, str]]:
        """(id, status) of each job that ``job_id`` waits for."""
        return self._queue.dependencies(job_id)

    def enqueue_layer_compute(
        self, kind: str, layer: str, chunk_size: int = DEFAULT_CHUNK_SIZE, params: dict | None = None,
        author: str | None = None, units: Sequence[int] | None = None, directions: Sequence[str] = (),
    ) -> list[int]:
        """Queue ``kind`` (e.g. ``vis`` with ``{"kinds": ["channel"], "render": {...}}``)
        over ``units`` of ``model/layer`` (default: every unit, or none when ``directions``
        are named) and over the layer's ``directions`` (names) in chunk jobs for the
        workers; returns the job ids (existing ones for work already queued). The
        parameters are checked here (``atlas.jobs.params``), so a bad one is one line now,
        not a worker's failure later."""
        actor = self._job_actor(author, "queue compute jobs")
        address = parse_layer(layer)
        self.model(address.model).check_not_imported()
        params = check_params(kind, dict(params or {}))
        names = list(dict.fromkeys(directions))
        for name in names:  # each must exist: one line now, not a failed job later
            self.feature(address.direction(name))
        details = {"kind": kind, "chunk_size": chunk_size, "params": params, **({"directions": names} if names else {})}
        return self._enqueue(actor, str(address), details,
                             lambda: enqueue_chunks(self._queue, kind, self.layer(address), units, chunk_size,
                                                    params, directions=names))

    def enqueue_connections(
        self, src: str, dst: str, kind: str = "direct", k: int = 20, chunk_size: int | None = None,
        author: str | None = None, force: bool = False, dataset: dict | None = None,
    ) -> list[int]:
        """Queue the ``kind`` connections from layer ``src`` to layer ``dst`` (addresses in
        one model): chunk jobs of destination units (128 by default) and the ranking job
        that waits for them (the last id). ``force`` replaces edges already stored;
        attribution needs a ``dataset`` spec (``atlas.compute.datasets.spec``)."""
        chunk_size = DEFAULT_CHUNK_UNITS if chunk_size is None else chunk_size
        actor = self._job_actor(author, "queue compute jobs")
        src_layer, dst_layer = self.layer(src), self.layer(dst)
        self.model(dst_layer.model).check_not_imported()
        if src_layer.model != dst_layer.model:
            raise InvalidInput(f"{src} and {dst} are layers of different models")
        return self._enqueue(actor, dst, {"kind": f"connections.{kind}", "src": src, "k": k,
                                          "chunk_size": chunk_size, "force": force},
                             lambda: enqueue_pair(self._queue, src_layer, dst_layer, kind, k, chunk_size, force,
                                                  dataset))

    def _job_actor(self, author: str | None, action: str) -> str:
        """The acting user's name if they may ``action`` (curators and above)."""
        with self._reading() as session:
            return require_role(session, self._author(session, author), "curator", action).name

    def _enqueue(self, author: str, layer: str, details: dict, enqueue: Callable[[], list[int]]) -> list[int]:
        """Queue jobs as a curator's act (``author``, checked by ``_job_actor``), recorded
        in the audit log with their ids."""
        ids = enqueue()
        with self._writing() as session:
            audit.record(session, self._author(session, author), "jobs.enqueue", "layer", layer, None,
                         {**details, "jobs": ids})
        return ids

    def cancel_job(self, job_id: int, author: str | None = None) -> bool:
        """Cancel a queued or running job (curators); False when it is in another state."""
        return self._job_act("cancel", job_id, author)

    def retry_job(self, job_id: int, author: str | None = None) -> bool:
        """Queue a failed or cancelled job again (curators); False otherwise."""
        return self._job_act("retry", job_id, author)

    def _job_act(self, act: str, job_id: int, author: str | None) -> bool:
        self._job_actor(author, f"{act} jobs")
        # The queue writes in its own transaction: on SQLite, holding ours would block it.
        changed = (self._queue.cancel if act == "cancel" else self._queue.retry)(job_id)
        if changed:
            with self._writing() as session:
                audit.record(session, self._author(session, author), f"jobs.{act}", "job", str(job_id), None, None)
        return changed
