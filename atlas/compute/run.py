"""Running compute through the job queue, from a command or a notebook.

Every compute is a set of chunk jobs in the queue. ``run_jobs`` either processes them in
this process (a local worker in a thread, for a laptop), or submits them as tasks to a Ray
cluster (``--executor ray``), or only watches them while other workers run them
(``--wait``), with one live progress bar over all the jobs every way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from tqdm import tqdm

from atlas.catalog import Catalog
from atlas.errors import AtlasError, InvalidInput
from atlas.jobs.records import JobInfo
from atlas.jobs.runtime.kinds import import_kind_modules
from atlas.jobs.runtime.watch import wait_for_jobs
from atlas.jobs.runtime.worker import Worker, WorkerConfig, open_when_reachable
from atlas.vocabulary import EXECUTORS


class ComputeFailed(AtlasError):
    pass


def run_jobs(
    catalog: Catalog, job_ids: Sequence[int], kinds: Sequence[str], device: str = "auto",
    local: bool = True, description: str = "compute", progress=tqdm,  # noqa: ANN001
    executor: str = "local", ray_address: str | None = None,
) -> list[JobInfo]:
    """Wait for the jobs to finish, running them here when ``local`` (these jobs only,
    never others in the queue), or as tasks on a Ray cluster with ``executor="ray"``
    (``atlas.compute.ray_executor``); a failed or cancelled job is an error naming it (its
    traceback is in `atlas jobs show ID`)."""
    if executor not in EXECUTORS:
        raise InvalidInput(f"unknown executor {executor!r} ({' or '.join(EXECUTORS)})")
    if executor == "ray":
        from atlas.compute.ray_executor import ray_tasks  # imports ray: only this executor needs it

        with ray_tasks(catalog, job_ids, kinds, device, ray_address) as tasks:
            jobs = wait_for_jobs(catalog, job_ids, progress=progress, description=description,
                                 on_poll=tasks.check)
    else:
        with _local_worker(catalog, job_ids, kinds, device, local):
            jobs = wait_for_jobs(catalog, job_ids, progress=progress, description=description)
    bad = [job for job in jobs if job.status != "done"]
    if bad:
        first = bad[0]
        raise ComputeFailed(
            f"{len(bad)} of {len(jobs)} jobs did not finish: job {first.id} is {first.status}"
            + (f" ({(first.error or '').strip().splitlines()[-1]})" if first.error else "")
            + f"; see `atlas jobs show {first.id}`"
        )
    return jobs


@contextmanager
def _local_worker(catalog: Catalog, job_ids: Sequence[int], kinds: Sequence[str], device: str,
                  local: bool) -> Iterator[None]:
    """A worker of these jobs in a thread while the block runs (none unless ``local``)."""
    if not local:
        yield
        return
    import_kind_modules()
    worker = Worker(catalog, WorkerConfig(kinds=list(kinds), device=device, exit_when_idle=True,
                                          job_ids=list(job_ids)))
    thread = threading.Thread(target=worker.run, name="atlas-local-worker", daemon=True)
    thread.start()
    try:
        yield
    finally:
        worker.request_stop()
        thread.join()


def run_worker(open_catalog: Callable[[], Catalog], *, imports: Sequence[str] = (), wait_for_db: float = 300.0,
               **config: Any) -> None:
    """``atlas worker``: import the job kinds (the built-in ones and ``imports``), open the
    catalogue (waiting up to ``wait_for_db`` seconds for its database), then claim and run
    jobs until stopped (SIGTERM/SIGINT: the current job is finished or given back) or, with
    ``exit_when_idle``, idle. ``config`` are ``WorkerConfig``'s fields."""
    import_kind_modules(imports)
    settings = WorkerConfig(**config)
    with open_when_reachable(open_catalog, wait_for_db) as catalog:
        worker = Worker(catalog, settings)
        with worker.stopping_on_signals():
            worker.run()
