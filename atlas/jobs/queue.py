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

Dependencies: a job enqueued ``after`` other jobs is ``waiting`` until they are all done.
The completion of each of them locks its waiting dependents and queues those with nothing
left to wait for, so of two dependencies completing at once the second sees the first.
A dependency that fails or is cancelled cancels its dependents (marked ``BLOCKED``);
retrying it brings them back to waiting.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, CursorResult, Engine, create_engine, event, func, insert, select
from sqlalchemy.orm import Session

from atlas.bounds import check_id, check_limit
from atlas.db.engine import WRITE
from atlas.db.models import utcnow
from atlas.errors import InvalidInput, NotFound
from atlas.jobs.records import JobInfo, JobSpec, LeaseLost, WorkerActivity, Write
from atlas.jobs.sql import COLUMNS, DEPENDENCIES, JOBS, at, info, statements, token


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
               read: Callable[[CursorResult], Any] = lambda result: result.rowcount) -> Any:
        """Execute ``stmt`` in the worker's own write transaction; ``read`` its result before commit."""
        with self._worker_engines()[0].begin() as conn:
            return read(conn.execute(stmt, params))

    def _update_mine(self, stmt: Any, job: JobInfo, **params: Any) -> bool:
        return self._write(stmt, {**token(job), **params}) == 1

    # -- enqueue -------------------------------------------------------------------

    def enqueue(self, kind: str, params: dict | None = None, priority: int = 0,
                dedupe_key: str | None = None, max_attempts: int = 3) -> int:
        """Add one job (or find the one with the same ``dedupe_key``); returns its id."""
        return self.enqueue_many([JobSpec(kind, params or {}, priority, dedupe_key, max_attempts)])[0]

    def enqueue_many(self, specs: Iterable[JobSpec]) -> list[int]:
        """Add jobs in one transaction; ids in the order of ``specs``. A job with ``after``
        waits until those jobs are done (a job found by its dedupe key keeps its own)."""
        ids, waiting = [], False
        with self._writer.begin() as conn:
            for spec in specs:
                if not spec.kind:
                    raise InvalidInput("a job needs a kind")
                if spec.max_attempts < 1:
                    raise InvalidInput(f"max_attempts must be at least 1, not {spec.max_attempts}")
                after = sorted(set(spec.after))
                self._check_exist(conn, after)
                job_id = conn.execute(self._sql.enqueue, {
                    "kind": spec.kind, "params": spec.params, "priority": spec.priority,
                    "dedupe_key": spec.dedupe_key, "max_attempts": spec.max_attempts,
                    "status": "waiting" if after else "queued",
                    "created_at": utcnow(), **self._moments(now=0),
                }).scalar()
                if job_id is None:
                    job_id = conn.scalar(select(JOBS.c.id).where(JOBS.c.dedupe_key == spec.dedupe_key))
                elif after:
                    conn.execute(insert(DEPENDENCIES), [{"job_id": job_id, "needs_job_id": n} for n in after])
                    waiting = True
                ids.append(job_id)
            if waiting:
                self._settle_waiting(conn)  # what they wait for may be done or failed already
        return ids

    @staticmethod
    def _check_exist(conn: Connection, job_ids: Sequence[int]) -> None:
        if not job_ids:
            return
        found = set(conn.scalars(select(JOBS.c.id).where(JOBS.c.id.in_(job_ids))))
        missing = [i for i in job_ids if i not in found]
        if missing:
            raise NotFound(f"cannot wait for jobs that do not exist: {missing[:10]}")

    def _settle_waiting(self, conn: Connection) -> int:
        """Cancel waiting jobs behind failed or cancelled ones (down whole chains), then
        queue those whose dependencies are all done. Returns how many were queued."""
        params = self._moments(now=0)
        while conn.execute(self._sql.block, params).rowcount:
            pass
        return conn.execute(self._sql.promote, params).rowcount

    def settle_waiting(self) -> int:
        """Bring every waiting job up to date with what it waits for; workers call this now
        and then, as a safety net for a dependency completing while its dependent was being
        enqueued (two transactions that cannot see each other). Returns how many were queued."""
        with self._worker_engines()[1].begin() as conn:
            return self._settle_waiting(conn)

    def dependencies(self, job_id: int) -> list[tuple[int, str]]:
        """(id, status) of the jobs that ``job_id`` waits for."""
        with self.engine.connect() as conn:
            return list(conn.execute(
                select(JOBS.c.id, JOBS.c.status).join(DEPENDENCIES, DEPENDENCIES.c.needs_job_id == JOBS.c.id)
                .where(DEPENDENCIES.c.job_id == job_id).order_by(JOBS.c.id)
            ).tuples())

    # -- the worker's side ---------------------------------------------------------

    def claim_next_job(self, worker_id: str, kinds: Sequence[str], lease_seconds: float,
                       job_ids: Sequence[int] | None = None) -> JobInfo | None:
        """Take the most urgent runnable job of one of ``kinds`` (higher priority first,
        then the longest waiting), only among ``job_ids`` when given (a local compute runs
        the jobs it queued, never other users'), or None when there is none."""
        params = {"new_owner": worker_id, "kinds": list(kinds), **self._moments(now=0, lease_until=lease_seconds)}
        if job_ids is None:
            row = self._write(self._sql.claim, params, CursorResult.first)
        else:
            row = self._write(self._sql.claim_among, {**params, "ids": list(job_ids)}, CursorResult.first)
        return info(row) if row else None

    def heartbeat(self, job: JobInfo, lease_seconds: float) -> bool:
        """Extend the lease; False when the job is no longer ours."""
        return self._update_mine(self._sql.heartbeat, job, **self._moments(lease_until=lease_seconds))

    def set_progress(self, job: JobInfo, done: int, total: int | None, message: str | None) -> bool:
        return self._update_mine(self._sql.progress, job, done=done, total=total, message=message)

    def complete(self, job: JobInfo, result: dict | None = None, write: Write | None = None) -> None:
        """Mark the job done and run ``write`` in the same transaction, or neither (the
        worker's ``write`` checks its user's role and records the job in the audit log).

        Raises LeaseLost (and writes nothing) when the job is no longer ours."""
        with self._worker_engines()[1 if write else 0].begin() as conn:
            params = {**token(job), "output": result, **self._moments(now=0)}
            has_dependents = conn.execute(self._sql.complete, params).scalar()
            if has_dependents is None:
                raise LeaseLost(f"job {job.id} is no longer ours: nothing written")
            if has_dependents:
                waiting = list(conn.scalars(self._sql.lock_dependents, {"job_id": job.id}))
                if waiting:
                    conn.execute(self._sql.promote_among, {"ids": waiting, **self._moments(now=0)})
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
        if status == "failed":
            self.settle_waiting()
        return status

    def release(self, job: JobInfo) -> bool:
        """Give an unfinished job back (worker shutting down); the attempt does not count."""
        return self._update_mine(self._sql.release, job, **self._moments(now=0))

    def reap_expired(self) -> int:
        """Requeue running jobs whose lease expired (their worker died or hung); a job that
        has used all its attempts this way fails. Returns how many jobs were reaped."""
        reaped = self._write(self._sql.reap, self._moments(now=0))
        if reaped:
            self.settle_waiting()  # a reaped job out of attempts failed
        return reaped

    # -- the user's side -----------------------------------------------------------

    def cancel(self, job_id: int) -> bool:
        """Cancel a waiting, queued or running job (its worker stops at its next heartbeat
        and its results are discarded), and the jobs waiting for it. False when the job
        had already finished."""
        self.get(job_id)
        with self._writer.begin() as conn:
            if conn.execute(self._sql.cancel, {"job_id": job_id, **self._moments(now=0)}).rowcount != 1:
                return False
            self._settle_waiting(conn)
        return True

    def retry(self, job_id: int) -> bool:
        """Queue a failed or cancelled job again with fresh attempts (waiting, if it waits
        for jobs not done yet), and bring back the jobs that were cancelled because this one
        failed. False when the job is in another state."""
        self.get(job_id)
        with self._writer.begin() as conn:
            if conn.execute(self._sql.retry, {"job_id": job_id, **self._moments(now=0)}).rowcount != 1:
                return False
            revived = [job_id]
            while revived:
                revived = list(conn.scalars(self._sql.revive, {"ids": revived}))
            self._settle_waiting(conn)
        return True

    def get(self, job_id: int) -> JobInfo:
        """The job; every user-side act on a job id (show, cancel, retry) starts here, so the
        id is checked here to fit the BIGINT column it is compared with."""
        check_id(job_id, "job id")
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
        if limit is not None:
            check_limit(limit, "limit")
        stmt = select(*COLUMNS).order_by(JOBS.c.id.desc()).limit(limit)
        if status is not None:
            stmt = stmt.where(JOBS.c.status == status)
        if kind is not None:
            stmt = stmt.where(JOBS.c.kind == kind)
        with self.engine.connect() as conn:
            return [info(r) for r in conn.execute(stmt)]

    def worker_activity(self, seen_window: float = 60.0, rate_window: float = 600.0) -> WorkerActivity:
        """Whether a worker has been seen in the last ``seen_window`` seconds, and how many
        jobs finished in the last ``rate_window`` (see ``WorkerActivity``)."""
        now, seen_since, rate_since = at(self._postgres, "now"), at(self._postgres, "seen"), at(
            self._postgres, "rate")
        live = (JOBS.c.status == "running") & (JOBS.c.lease_expires_at > now)
        moved = (JOBS.c.started_at >= seen_since) | (JOBS.c.finished_at >= seen_since)
        stmt = select(
            func.count().filter(live | moved),
            func.count().filter((JOBS.c.status == "done") & (JOBS.c.finished_at >= rate_since)),
        )
        with self.engine.connect() as conn:
            seen, finished = conn.execute(stmt, self._moments(now=0, seen=-seen_window, rate=-rate_window)).one()
        return WorkerActivity(seen > 0, finished, seen_window, rate_window)

    def counts(self, kinds: Sequence[str] | None = None, job_ids: Sequence[int] | None = None) -> dict[str, int]:
        """Number of jobs per status (of ``kinds``, among ``job_ids``, when given)."""
        stmt = select(JOBS.c.status, func.count()).group_by(JOBS.c.status)
        if kinds is not None:
            stmt = stmt.where(JOBS.c.kind.in_(kinds))
        if job_ids is None:
            with self.engine.connect() as conn:
                return {status: n for status, n in conn.execute(stmt)}
        counts: dict[str, int] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(job_ids), 500):
                chunk = list(job_ids[start:start + 500])
                for status, n in conn.execute(stmt.where(JOBS.c.id.in_(chunk))):
                    counts[status] = counts.get(status, 0) + n
        return counts
