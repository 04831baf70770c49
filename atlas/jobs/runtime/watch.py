"""Watching jobs from the outside: one live progress bar over many jobs.

``atlas compute … --wait`` enqueues a layer's chunk jobs and calls ``wait_for_jobs``; the
bar counts finished jobs plus the reported fraction of running ones, so a single long
job still moves it. Jobs are durable: leaving the wait (Ctrl-C) leaves them running.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from atlas.errors import NotFound
from atlas.jobs.records import JobInfo, is_transient
from atlas.vocabulary import format_counts

if TYPE_CHECKING:
    from atlas.catalog import Catalog

BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total_fmt} jobs [{elapsed}<{remaining}{postfix}]"


def status_summary(jobs: Sequence[JobInfo]) -> str:
    return format_counts(Counter(job.status for job in jobs))


def wait_for_jobs(
    catalog: Catalog,
    job_ids: Sequence[int],
    progress: Callable[..., Any] = tqdm,
    poll_seconds: float = 0.5,
    description: str = "jobs",
    on_poll: Callable[[], None] | None = None,
) -> list[JobInfo]:
    """Block until every job has finished (done, failed or cancelled), showing a live bar
    made by ``progress`` (tqdm's signature). Returns the final jobs, in id order.
    ``on_poll`` runs at every poll and may raise to stop watching (whoever runs the jobs
    has failed for good, e.g. a Ray task)."""
    ids = sorted(set(job_ids))
    jobs = catalog.jobs_by_id(ids)
    missing = sorted(set(ids) - {job.id for job in jobs})
    if missing:
        raise NotFound(f"no jobs {missing[:10]}")
    stale = False  # the last poll could not reach the database
    with progress(total=len(ids), desc=description, bar_format=BAR_FORMAT) as bar:
        while True:
            bar.n = round(sum(job.fraction for job in jobs), 1)
            note = " (database unavailable, retrying)" if stale else ""
            bar.set_postfix_str(status_summary(jobs) + note, refresh=False)
            bar.refresh()
            if all(job.finished for job in jobs):
                return jobs
            time.sleep(poll_seconds)
            if on_poll is not None:
                on_poll()
            try:
                jobs, stale = catalog.jobs_by_id(ids), False
            except Exception as exc:
                if not is_transient(exc):
                    raise
                stale = True
