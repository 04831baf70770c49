"""The durable job queue: the ``jobs`` table in the catalogue's own database.

Every state change is one short write transaction. A claimed job carries a claim token,
(lease owner, attempt number); every later write about it (heartbeat, progress,
completion, failure, release) is an UPDATE guarded by that token and ``status =
'running'``. Whoever lost the job (its lease expired and another worker took it, or a
user cancelled it) updates 0 rows and writes nothing, so results are never written twice.

Claims: ``UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING …`` on
PostgreSQL; the same statement inside ``BEGIN IMMEDIATE`` on SQLite, where the write lock
serializes claimers. Times come from the database's clock on PostgreSQL, so the clocks of
many worker machines never need to agree; SQLite is one machine, so Python's clock is it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import CursorResult, Engine, create_engine, event, func, select
from sqlalchemy.orm import Session

from atlas.db.engine import WRITE
from atlas.db.models import utcnow
from atlas.errors import InvalidInput, NotFound
from atlas.jobs.records import JobInfo, JobSpec, LeaseLost, Write
from atlas.jobs.sql import COLUMNS, JOBS, info, statements, token


def _asynchronous_commit(dbapi_connection: Any, _record: Any) -> None:
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
    dbapi_connection.commit()


class JobQueue:
    """All reads and writes of the ``jobs`` table, on one engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        self._sql = statements(self._postgres)
        self._writer = engine.execution_options(**WRITE)
        self._worker_pool: tuple[Engine, Engine] | None = None
        self._lock = threading.Lock()

    def _worker_engines(self) -> tuple[Engine, Engine]:
        """(single statements, transactions) for the worker's own writes: claims, leases,
        completions with their results. On PostgreSQL they get a pool of their own, made
        on first use and tuned for short transactions:

        - asynchronous commit: no wait for the WAL flush, the largest cost of a short job.
          A server crash may forget the last fraction of a second of commits; a forgotten
          completion takes its results with it (one transaction) and the job runs again
          once its lease expires, so nothing is lost or duplicated;
        - autocommit for single statements: no BEGIN/COMMIT round trips. Completions that
          write results still run in one READ COMMITTED transaction;
        - no ping before each use: after a server restart the first statement fails, the
          pool is refreshed and the worker retries (it must handle that error anyway).

        Users' writes (enqueue, cancel, retry) stay synchronous, on the catalogue's pool."""
        if not self._postgres:
            return self._writer, self._writer
        with self._lock:
            if self._worker_pool is None:
                single = create_engine(self.engine.url, isolation_level="AUTOCOMMIT",
                                       connect_args={"connect_timeout": 5})
                event.listen(single, "connect", _asynchronous_commit)
                self._worker_pool = single, single.execution_options(isolation_level="READ COMMITTED")
            return self._worker_pool

    def close(self) -> None:
        """Close the worker's own connections, if any."""
        if self._worker_pool is not None:
            self._worker_pool[0].dispose()

    def _moments(self, **seconds_from_now: float) -> dict[str, Any]:
        """Parameters for ``at`` moments."""
        if self._postgres:
            return {name: timedelta(seconds=s) for name, s in seconds_from_now.items()}
        now = utcnow()
        return {name: now + timedelta(seconds=s) for name, s in seconds_from_now.items()}

    def _write(self, stmt: Any, params: dict[str, Any],
               read: Callable[[CursorResult], Any] = lambda result: result.rowcount,
               durable: bool = False) -> Any:
        """Execute ``stmt`` in its own write transaction; ``read`` its result before commit."""
        with (self._writer if durable else self._worker_engines()[0]).begin() as conn:
            return read(conn.execute(stmt, params))

    def _update_mine(self, stmt: Any, job: JobInfo, **params: Any) -> bool:
        return self._write(stmt, {**token(job), **params}) == 1

    # -- enqueue -------------------------------------------------------------------

    def enqueue(self, kind: str, params: dict | None = None, priority: int = 0,
                dedupe_key: str | None = None, max_attempts: int = 3) -> int:
        """Add one job (or find the one with the same ``dedupe_key``); returns its id."""
        return self.enqueue_many([JobSpec(kind, params or {}, priority, dedupe_key, max_attempts)])[0]

    def enqueue_many(self, specs: Iterable[JobSpec]) -> list[int]:
        """Add jobs in one transaction; ids in the order of ``specs``."""
        ids = []
        with self._writer.begin() as conn:
            for spec in specs:
                if not spec.kind:
                    raise InvalidInput("a job needs a kind")
                if spec.max_attempts < 1:
                    raise InvalidInput(f"max_attempts must be at least 1, not {spec.max_attempts}")
                job_id = conn.execute(self._sql.enqueue, {
                    "kind": spec.kind, "params": spec.params, "priority": spec.priority,
                    "dedupe_key": spec.dedupe_key, "max_attempts": spec.max_attempts,
                    "created_at": utcnow(), **self._moments(now=0),
                }).scalar()
                if job_id is None:
                    job_id = conn.scalar(select(JOBS.c.id).where(JOBS.c.dedupe_key == spec.dedupe_key))
                ids.append(job_id)
        return ids

    # -- the worker's side ---------------------------------------------------------

    def claim(self, worker_id: str, kinds: Sequence[str], lease_seconds: float) -> JobInfo | None:
        """Take the most urgent runnable job of one of ``kinds`` (higher priority first,
        then the longest waiting), or None when there is none."""
        row = self._write(self._sql.claim, {
            "new_owner": worker_id, "kinds": list(kinds),
            **self._moments(now=0, lease_until=lease_seconds),
        }, CursorResult.first)
        return info(row) if row else None

    def heartbeat(self, job: JobInfo, lease_seconds: float) -> bool:
        """Extend the lease; False when the job is no longer ours."""
        return self._update_mine(self._sql.heartbeat, job, **self._moments(lease_until=lease_seconds))

    def set_progress(self, job: JobInfo, done: int, total: int | None, message: str | None) -> bool:
        return self._update_mine(self._sql.progress, job, done=done, total=total, message=message)

    def complete(self, job: JobInfo, result: dict | None = None, write: Write | None = None) -> None:
        """Mark the job done and run ``write`` in the same transaction, or neither.

        Raises LeaseLost (and writes nothing) when the job is no longer ours."""
        with self._worker_engines()[1 if write else 0].begin() as conn:
            params = {**token(job), "output": result, **self._moments(now=0)}
            if conn.execute(self._sql.complete, params).rowcount != 1:
                raise LeaseLost(f"job {job.id} is no longer ours: nothing written")
            if write is not None:
                with Session(bind=conn) as session:
                    write(session)
                    session.flush()

    def fail(self, job: JobInfo, error: str, backoff_seconds: float) -> str:
        """Record a failed attempt: queued again after ``backoff_seconds`` while attempts
        remain, else ``failed``. Returns the new status; LeaseLost when not ours."""
        status = self._write(self._sql.fail, {
            **token(job), "failure": error, **self._moments(now=0, retry_at=backoff_seconds),
        }, CursorResult.scalar)
        if status is None:
            raise LeaseLost(f"job {job.id} is no longer ours: failure not recorded")
        return status

    def release(self, job: JobInfo) -> bool:
        """Give an unfinished job back (worker shutting down); the attempt does not count."""
        return self._update_mine(self._sql.release, job, **self._moments(now=0))

    def reap_expired(self) -> int:
        """Requeue running jobs whose lease expired (their worker died or hung); a job that
        has used all its attempts this way fails. Returns how many jobs were reaped."""
        return self._write(self._sql.reap, self._moments(now=0))

    # -- the user's side -----------------------------------------------------------

    def cancel(self, job_id: int) -> bool:
        """Cancel a queued or running job (its worker stops at its next heartbeat and its
        results are discarded). False when the job had already finished."""
        self.get(job_id)
        return self._write(self._sql.cancel, {"job_id": job_id, **self._moments(now=0)}, durable=True) == 1

    def retry(self, job_id: int) -> bool:
        """Queue a failed or cancelled job again with fresh attempts. False otherwise."""
        self.get(job_id)
        return self._write(self._sql.retry, {"job_id": job_id, **self._moments(now=0)}, durable=True) == 1

    def get(self, job_id: int) -> JobInfo:
        with self.engine.connect() as conn:
            row = conn.execute(select(*COLUMNS).where(JOBS.c.id == job_id)).first()
        if row is None:
            raise NotFound(f"no job {job_id}")
        return info(row)

    def get_many(self, job_ids: Sequence[int]) -> list[JobInfo]:
        """The jobs with these ids, in id order (unknown ids are left out)."""
        jobs: list[JobInfo] = []
        with self.engine.connect() as conn:
            for start in range(0, len(job_ids), 500):
                chunk = list(job_ids[start:start + 500])
                jobs += [info(r) for r in conn.execute(select(*COLUMNS).where(JOBS.c.id.in_(chunk)))]
        return sorted(jobs, key=lambda job: job.id)

    def recent(self, status: str | None = None, kind: str | None = None,
               limit: int | None = 50) -> list[JobInfo]:
        """Most recent jobs first, optionally of one status and kind (``limit=None``: all)."""
        stmt = select(*COLUMNS).order_by(JOBS.c.id.desc()).limit(limit)
        if status is not None:
            stmt = stmt.where(JOBS.c.status == status)
        if kind is not None:
            stmt = stmt.where(JOBS.c.kind == kind)
        with self.engine.connect() as conn:
            return [info(r) for r in conn.execute(stmt)]

    def counts(self, kinds: Sequence[str] | None = None) -> dict[str, int]:
        """Number of jobs per status (of ``kinds`` when given)."""
        stmt = select(JOBS.c.status, func.count()).group_by(JOBS.c.status)
        if kinds is not None:
            stmt = stmt.where(JOBS.c.kind.in_(kinds))
        with self.engine.connect() as conn:
            return {status: n for status, n in conn.execute(stmt)}
