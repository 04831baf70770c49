"""Running a compute's jobs as Ray tasks, for labs whose GPUs are already a Ray cluster.

The catalogue's database stays the one source of truth. Each queued job becomes one Ray
task, and the task is an ordinary worker restricted to that one job
(``WorkerConfig(job_ids=[id], exit_when_idle=True)``): it claims the job with a lease,
heartbeats, and commits the job's results together with its completion. So Ray's own
retries are harmless:

- a task retried after its node or worker process died finds its job still ``running``
  under the dead attempt's lease; it waits, the lease runs out, the task reaps it and
  runs the job again (the dead attempt committed nothing);
- a task whose job is already done (or failed or cancelled) does nothing;
- a job leased by a live attempt elsewhere (an ``atlas worker`` sharing the queue) is
  left to it: the task waits until it has finished.

Dependent jobs (``connections.rank`` after a pair's chunks) are submitted with the tasks
of the jobs they wait for as arguments, so Ray starts them once those are over; by then
the completions have queued them.

Ray is imported only here, and only when ``--executor ray`` is asked for.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fsspec.implementations.local import LocalFileSystem

from atlas.catalog import Catalog
from atlas.db.engine import sqlite_path
from atlas.errors import AtlasError, InvalidInput
from atlas.jobs.runtime.kinds import import_kind_modules
from atlas.jobs.runtime.worker import Worker, WorkerConfig, open_when_reachable

MISSING_RAY = "install the ray extra: pip install '.[ray]'"
TASK_RETRIES = 3  # Ray's retries of a task whose worker process or node died
WAIT_FOR_DB_SECONDS = 300.0


class RayTaskFailed(AtlasError):
    """A job's Ray task failed for good (every retry lost its node, or the catalogue could
    not be opened on the cluster); the job stays in the queue for a later run."""


@dataclass(frozen=True)
class CatalogAddress:
    """How a Ray task on any node opens the catalogue: the database URL (with its
    password: Ray keeps it with the task), the blob store and the acting user."""

    database: str
    blobs: str
    user: str

    def open(self) -> Catalog:
        return Catalog.open(self.database, self.blobs, self.user)


def catalog_address(catalog: Catalog) -> CatalogAddress:
    """The address of ``catalog`` as other processes must use it: a SQLite file and a
    local blob store by absolute path (a task's working directory is not ours); a
    database or store that only this process can see is refused."""
    url = catalog.engine.url
    path = sqlite_path(url.render_as_string(hide_password=False))
    if url.get_backend_name() == "sqlite":
        if path is None:
            raise InvalidInput("--executor ray needs a database other processes can open: "
                               "a SQLite file or PostgreSQL, not an in-memory SQLite database")
        url = url.set(database=str(path.resolve()))
    if catalog.blobs.url.startswith("memory://"):
        raise InvalidInput("--executor ray needs a blob store other processes can reach, not memory://")
    blobs = catalog.blobs.root if isinstance(catalog.blobs.fs, LocalFileSystem) else catalog.blobs.url
    return CatalogAddress(url.render_as_string(hide_password=False), blobs, catalog.user)


def run_job(address: CatalogAddress, job_id: int, kinds: Sequence[str], device: str,
            imports: Sequence[str] = (), lease_seconds: float = 60.0, poll_seconds: float = 1.0,
            *_after: object) -> str:
    """The body of one Ray task: run job ``job_id`` to its end as a worker of that job
    alone, and return its final status. ``_after`` are the results of the tasks it waits
    for (Ray passes them once those tasks are over; only their being over matters).

    A job still ``waiting`` (a dependency run elsewhere is not done yet) is polled until
    it is queued or finished."""
    import_kind_modules(imports)
    config = WorkerConfig(kinds=list(kinds), device=device, lease_seconds=lease_seconds,
                          poll_seconds=poll_seconds, exit_when_idle=True, job_ids=[job_id])
    with open_when_reachable(address.open, WAIT_FOR_DB_SECONDS) as catalog:
        worker = Worker(catalog, config)
        while True:
            worker.run()
            status = catalog.job(job_id).status
            if status != "waiting":
                return status
            time.sleep(poll_seconds)


def require_ray() -> None:
    """One line, before anything is queued, when the ray extra is not installed."""
    if importlib.util.find_spec("ray") is None:
        raise InvalidInput(MISSING_RAY)


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise InvalidInput(MISSING_RAY) from None
    return ray


def _connect(ray: Any, address: str | None) -> None:
    """``ray.init``, its failure one line. Ray reports an unreachable cluster in many ways,
    SystemExit among them (after retrying for minutes), so every failure is caught here."""
    try:
        ray.init(address=address, logging_level="WARNING")
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - any failure to connect is the same to the user
        reason = (str(exc).strip() or type(exc).__name__).splitlines()[0]
        raise InvalidInput(f"cannot start or reach Ray at {address or 'its default address'}: {reason}") from None


def _task_device(ray: Any, device: str) -> tuple[str, int]:
    """(the device a task computes on, the GPUs it asks Ray for): a GPU per task where the
    cluster has GPUs, unless ``--device cpu``."""
    has_gpus = ray.cluster_resources().get("GPU", 0) >= 1
    if device == "cuda" and not has_gpus:
        raise InvalidInput("--device cuda was asked for, but the Ray cluster has no GPU")
    if device == "cpu" or not has_gpus:
        return "cpu", 0
    return "cuda", 1


class RayTasks:
    """The Ray tasks of one compute's jobs: ``check`` raises if one of them failed for good."""

    def __init__(self, ray: Any, refs: dict[int, Any]):
        self._ray = ray
        self._refs = refs
        self._over: set[int] = set()

    def check(self) -> None:
        pending = [ref for job_id, ref in self._refs.items() if job_id not in self._over]
        if not pending:
            return
        ready, _ = self._ray.wait(pending, num_returns=len(pending), timeout=0)
        for job_id, ref in self._refs.items():
            if ref in ready:
                self._get(job_id, ref)
                self._over.add(job_id)

    def finish(self) -> None:
        """Wait for every task to end (their jobs have finished: they end at once)."""
        for job_id, ref in self._refs.items():
            if job_id not in self._over:
                self._get(job_id, ref)
                self._over.add(job_id)

    def cancel(self) -> None:
        for job_id, ref in self._refs.items():
            if job_id not in self._over:
                self._ray.cancel(ref)

    def _get(self, job_id: int, ref: Any) -> None:
        try:
            self._ray.get(ref)
        except self._ray.exceptions.RayError as exc:
            cause = getattr(exc, "cause", None) or exc
            line = (str(cause).strip() or type(cause).__name__).splitlines()[-1]
            raise RayTaskFailed(f"the Ray task of job {job_id} failed: {line} (the job stays in the queue: "
                                f"`atlas jobs show {job_id}`)") from None


@contextmanager
def ray_tasks(catalog: Catalog, job_ids: Sequence[int], kinds: Sequence[str], device: str = "auto",
              address: str | None = None, imports: Sequence[str] = (), lease_seconds: float = 60.0,
              poll_seconds: float = 1.0) -> Iterator[RayTasks]:
    """Submit one Ray task per unfinished job of ``job_ids`` (dependencies first) on the
    Ray cluster at ``address`` (None: Ray's own choice: $RAY_ADDRESS, a cluster started on
    this machine with `ray start`, else a new local instance), yield them while the
    caller watches the jobs in the database, then wait for the tasks to end. Leaving
    early (an error, Ctrl-C) cancels the tasks still running; their jobs go back to the
    queue when their leases run out."""
    ray = _ray()
    target = catalog_address(catalog)
    started_here = not ray.is_initialized()
    if started_here:
        _connect(ray, address)
    elif address is not None:
        raise InvalidInput("Ray is already connected in this process: leave out --ray-address")
    try:
        task_device, gpus = _task_device(ray, device)
        task = ray.remote(run_job).options(num_gpus=gpus, max_retries=TASK_RETRIES)
        refs: dict[int, Any] = {}
        for job in sorted(catalog.jobs_by_id(job_ids), key=lambda job: job.id):
            if job.finished:
                continue
            # A job waits only for older jobs, so theirs are submitted already (when unfinished).
            after = [refs[needed] for needed, _ in catalog.job_dependencies(job.id) if needed in refs]
            refs[job.id] = task.remote(target, job.id, list(kinds), task_device, list(imports), lease_seconds,
                                       poll_seconds, *after)
        tasks = RayTasks(ray, refs)
        try:
            yield tasks
            tasks.finish()
        except BaseException:
            tasks.cancel()
            raise
    finally:
        if started_here:
            ray.shutdown()
