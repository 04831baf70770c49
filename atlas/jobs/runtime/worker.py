"""The worker loop: claim a job, run its kind, complete or fail it; survive everything else.

- Crashes: a killed worker's lease runs out and any worker requeues the job
  (``reap_expired``); nothing it computed was committed, so nothing is duplicated.
- Dependencies: a job waiting for others is queued by the completion of the last of them;
  workers also settle waiting jobs now and then (``settle_waiting``), which catches a
  dependency that completed while its dependent was being enqueued.
- Shutdown: the first SIGTERM/SIGINT asks the running handler to stop (``should_stop``);
  the job is completed if the handler finishes, or released (queued again, attempt not
  counted) if it raises JobInterrupted. A second signal interrupts the handler outright.
- Database outages: a worker started while the database is down waits for it
  (``open_when_reachable``); once running, every database call is retried with capped
  exponential backoff (PostgreSQL's ``pool_pre_ping`` replaces dead connections); a
  completion is retried until it commits or the job turns out to be someone else's.
- Errors in a handler: the attempt fails with its traceback, and the job is retried
  after ``backoff * 2**(attempt-1)`` seconds (capped) until ``max_attempts``.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.orm import Session

from atlas.catalog import audit
from atlas.catalog.resolve import require_role
from atlas.db.blobs import BlobMissing
from atlas.errors import DatabaseUnreachable, InvalidInput, PermissionDenied
from atlas.jobs.records import JobInfo, LeaseLost, Write, is_transient
from atlas.jobs.runtime.heartbeat import Heartbeat
from atlas.jobs.runtime.kinds import (
    JobContext,
    JobInterrupted,
    JobOutput,
    handler_for,
    registered_kinds,
)
from atlas.jobs.runtime.progress import ThrottledProgress
from atlas.vocabulary import ROLES

if TYPE_CHECKING:
    from atlas.catalog import Catalog

log = logging.getLogger("atlas.jobs")
T = TypeVar("T")


@dataclass(frozen=True)
class WorkerConfig:
    kinds: Sequence[str] | None = None  # None: every registered kind
    device: str = "auto"  # auto (a GPU when there is one), cpu, cuda or cuda:N
    lease_seconds: float = 60.0
    poll_seconds: float = 1.0
    retry_backoff_seconds: float = 2.0
    retry_backoff_max_seconds: float = 300.0
    exit_when_idle: bool = False  # stop once no job of our kinds is queued or running
    job_ids: Sequence[int] | None = None  # only these jobs (a local compute runs just its own)


def open_when_reachable(open_catalog: Callable[[], Catalog], timeout: float) -> Catalog:
    """``open_catalog()``, retried with backoff for up to ``timeout`` seconds while the
    database cannot be reached: workers started with (or before) a database server wait
    for it instead of exiting. Other errors (not migrated, bad URL) fail at once."""
    deadline = time.monotonic() + timeout
    delay = 0.5
    while True:
        try:
            return open_catalog()
        except DatabaseUnreachable as exc:
            if time.monotonic() + delay > deadline:
                raise
            log.warning("%s; waiting for the database, retrying in %.2gs", exc, delay)
            time.sleep(delay)
            delay = min(delay * 2, 10.0)


def check_can_compute(catalog: Catalog) -> None:
    """A worker stores results as its catalogue's user (``--user``): a curator or above.
    Checked when it starts, so a viewer's worker refuses at once instead of running jobs
    whose results it may not write."""
    user = catalog.get_user()
    if ROLES.index(user.role) < ROLES.index("curator"):
        raise PermissionDenied(f"user {user.name!r} is a {user.role} and cannot run compute jobs "
                               f"(a worker stores results as its --user: needs curator or above)")


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    """One worker: claims jobs of its kinds from the queue and runs them, one at a time."""

    def __init__(self, catalog: Catalog, config: WorkerConfig, worker_id: str | None = None):
        check_can_compute(catalog)
        self.catalog = catalog
        self.config = config
        from atlas.compute.device import resolve_device  # these import torch: only workers need it
        from atlas.compute.registration import ModelCache

        self.device = str(resolve_device(config.device))
        self._models = ModelCache(catalog, self.device)
        self.queue = catalog.job_queue
        self.worker_id = worker_id or new_worker_id()
        self.kinds = list(config.kinds) if config.kinds is not None else registered_kinds()
        if not self.kinds:
            raise InvalidInput("this worker has no job kinds to run (use --import MODULE)")
        for kind in self.kinds:
            handler_for(kind)
        self._stop = threading.Event()
        self._running: JobInfo | None = None
        self._next_reap = 0.0

    def request_stop(self) -> None:
        self._stop.set()

    # -- the loop ------------------------------------------------------------------

    def run(self) -> int:
        """Claim and run jobs until asked to stop (or idle, with ``exit_when_idle``).
        Returns the number of jobs this worker finished, completed or failed."""
        log.info("worker %s started: kinds %s, device %s, lease %gs", self.worker_id,
                 ",".join(self.kinds), self.device, self.config.lease_seconds)
        finished = 0
        heartbeat = Heartbeat(lambda job: self.queue.heartbeat(job, self.config.lease_seconds),
                              self.config.lease_seconds / 3)
        with heartbeat, closing(self.queue):
            while not self._stop.is_set():
                self._reap_now_and_then()
                job = self._with_db("claim", lambda: self.queue.claim_next_job(
                    self.worker_id, self.kinds, self.config.lease_seconds, self.config.job_ids),
                    give_up_on_stop=True)
                if job is not None:
                    finished += self._run_job(job, heartbeat) in ("done", "failed")
                elif self.config.exit_when_idle and self._idle():
                    break
                else:
                    self._stop.wait(self.config.poll_seconds)
        log.info("worker %s stopped after %d jobs", self.worker_id, finished)
        return finished

    def _idle(self) -> bool:
        self._with_db("settle waiting jobs", self.queue.settle_waiting, give_up_on_stop=True)
        counts = self._with_db("count", lambda: self.queue.counts(self.kinds, self.config.job_ids),
                               give_up_on_stop=True)
        return counts is not None and not any(counts.get(s, 0) for s in ("queued", "running"))

    def _reap_now_and_then(self) -> None:
        now = time.monotonic()
        if now >= self._next_reap:
            self._next_reap = now + min(max(self.config.lease_seconds / 2, 0.5), 10.0)
            reaped = self._with_db("reap", self.queue.reap_expired, give_up_on_stop=True)
            if reaped:
                log.warning("requeued %d job(s) whose worker stopped heartbeating", reaped)
            self._with_db("settle waiting jobs", self.queue.settle_waiting, give_up_on_stop=True)

    # -- one job -------------------------------------------------------------------

    def _run_job(self, job: JobInfo, heartbeat: Heartbeat) -> str:
        """Run a claimed job to its end and log one line about it. Returns its outcome:
        done, failed, queued (to be retried), released (shutdown) or lost (not ours)."""
        start = time.monotonic()
        progress = ThrottledProgress(
            lambda done, total, message: self.queue.set_progress(job, done, total, message)
        )
        detail = ""
        try:
            with heartbeat.keeping(job) as lost:
                ctx = JobContext(job, self.catalog, self.device, progress,
                                 lambda: self._stop.is_set() or lost.is_set() or progress.lost, self._models)
                self._running = job
                try:
                    output = handler_for(job.kind)(ctx)
                finally:
                    self._running = None
            if not isinstance(output, JobOutput):
                raise TypeError(f"job kind {job.kind!r} returned {type(output).__name__}, not JobOutput")
            progress.flush()
            # Inside the try: an error in the output's own writes fails the job like any other.
            outcome = self._settle("complete", lambda: self._complete(job, output))
        except JobInterrupted:
            outcome = self._settle("release", lambda: "released" if self.queue.release(job) else "lost")
        except Exception:  # noqa: BLE001 - any error of the handler is the job's failure
            error = traceback.format_exc()
            backoff = min(self.config.retry_backoff_seconds * 2 ** (job.attempts - 1),
                          self.config.retry_backoff_max_seconds)
            outcome = self._settle("fail", lambda: self.queue.fail(job, error, backoff))
            retry = f", retry in {backoff:g}s" if outcome == "queued" else ""
            detail = f" ({error.strip().splitlines()[-1]}{retry})"
        if outcome == "lost":
            now = self._with_db("read", lambda: self.queue.get(job.id).status)
            detail = f" (the job is {now} now; nothing written)"
        log.info("job %d %s %s%s after %.2fs, attempt %d/%d", job.id, job.kind,
                 "error" if outcome == "queued" else outcome, detail,
                 time.monotonic() - start, job.attempts, job.max_attempts)
        return outcome

    def _complete(self, job: JobInfo, output: JobOutput) -> str:
        """Commit the job's results, if every blob they name is in this worker's store (a
        worker on another store would leave rows pointing at nothing): a missing blob fails
        the job with nothing written, and its next attempt computes it again."""
        missing = [sha for sha in output.blobs if not self.catalog.blobs.exists(sha)]
        if missing:
            raise BlobMissing(f"{len(missing)} blob(s) of job {job.id} are missing from the blob store "
                              f"{self.catalog.blobs.url} (e.g. {missing[0]}): nothing written")
        self.queue.complete(job, output.result, self._recorded(job, output) if output.write else None)
        return "done"

    def _recorded(self, job: JobInfo, output: JobOutput) -> Write:
        """The job's writes, by a user still allowed to store results, and one audit entry
        for the job (its result: what it wrote), all in the completion's transaction."""
        user = self.catalog.user

        def write(session: Session) -> None:
            require_role(session, user, "curator", "store computed results")
            output.write(session)
            audit.record(session, user, "jobs.complete", "job", str(job.id), None,
                         {"kind": job.kind, "result": output.result})

        return write

    def _settle(self, what: str, action: Callable[[], str]) -> str:
        """Record a job's outcome, waiting out database outages; "lost" when the job is
        no longer ours."""
        try:
            return self._with_db(what, action)
        except LeaseLost:
            return "lost"

    def _with_db(self, what: str, action: Callable[[], T], give_up_on_stop: bool = False) -> T | None:
        """Run ``action``, retrying while the database is unreachable or locked."""
        delay = 0.25
        while True:
            try:
                return action()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                if give_up_on_stop and self._stop.is_set():
                    return None
                log.warning("database unavailable during %s (%s); retrying in %.2gs", what,
                            str(exc).strip().splitlines()[0], delay)
                if give_up_on_stop:
                    self._stop.wait(delay)  # a stop request ends the wait
                else:
                    time.sleep(delay)
                delay = min(delay * 2, 10.0)

    # -- signals -------------------------------------------------------------------

    @contextmanager
    def stopping_on_signals(self) -> Iterator[None]:
        """First SIGTERM/SIGINT: stop after this job. Second: interrupt the job (released)."""

        def on_signal(signum: int, _frame: object) -> None:
            if not self._stop.is_set():
                log.info("%s: finishing the current job, then stopping (again to interrupt it)",
                         signal.Signals(signum).name)
                self._stop.set()
            elif self._running is not None:
                raise JobInterrupted(f"{signal.Signals(signum).name} during job {self._running.id}")

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
