"""Records of the job queue: what a job is, what a worker gets back, which errors mean what."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from atlas.errors import AtlasError
from atlas.vocabulary import FINISHED

# The error of a waiting job cancelled because a job it waits for failed or was cancelled.
BLOCKED = "blocked: a job it waits for failed or was cancelled (retrying that job brings this one back)"


def is_transient(exc: BaseException) -> bool:
    """True for "the database is unreachable or busy right now" (connection lost, server
    restarting, SQLite locked): worth waiting out rather than failing a job. SQLite's other
    operational errors ("no such table") are bugs, not outages."""
    if not isinstance(exc, (OperationalError, InterfaceError)):
        return False
    if isinstance(exc.orig, sqlite3.Error):
        return "locked" in str(exc.orig) or "busy" in str(exc.orig)
    return True


Write = Callable[[Session], None]


class LeaseLost(AtlasError):
    """The job is no longer ours: cancelled, or its lease expired and another worker took it."""


@dataclass(frozen=True)
class JobSpec:
    """A job to enqueue. Jobs with the same ``dedupe_key`` are one job: enqueueing it again
    returns the existing job, whatever its status."""

    kind: str
    params: dict = field(default_factory=dict)
    priority: int = 0
    dedupe_key: str | None = None
    max_attempts: int = 3
    after: tuple[int, ...] = ()  # ids of jobs that must be done before this one runs


@dataclass(frozen=True)
class JobInfo:
    """A snapshot of one ``jobs`` row."""

    id: int
    kind: str
    params: dict
    status: str
    priority: int
    dedupe_key: str | None
    attempts: int
    max_attempts: int
    run_after: datetime
    lease_owner: str | None
    lease_expires_at: datetime | None
    progress_done: int
    progress_total: int | None
    progress_message: str | None
    error: str | None
    result: dict | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def fraction(self) -> float:
        """How far along the job is, 0 to 1 (finished jobs count as 1)."""
        if self.finished:
            return 1.0
        if self.progress_total:
            return min(1.0, self.progress_done / self.progress_total)
        return 0.0


@dataclass(frozen=True)
class WorkerActivity:
    """What the queue shows of its workers (they register nowhere: a worker is seen by the
    jobs it holds and finishes). ``seen``: a job holds a live lease, or one started or
    finished in the last ``seen_window_s``; ``finished``: jobs done in the last
    ``rate_window_s``, the rate a time-left estimate uses."""

    seen: bool
    finished: int
    seen_window_s: float
    rate_window_s: float

    def seconds_left(self, remaining_jobs: float) -> float | None:
        """Time left for ``remaining_jobs`` (fractions for jobs part done) at the recent
        rate; None when nothing finished recently, so there is no rate to go by."""
        if self.finished == 0:
            return None
        return remaining_jobs * self.rate_window_s / self.finished
