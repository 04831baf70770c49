"""The SQL of the job queue, built once per dialect.

Statements are reused with bound parameters, so SQLAlchemy computes each one's cache key
once: that is a good part of a no-op job's cost. Every write about a claimed job is
guarded by the claim token (``MINE``): still running, under this owner, in this attempt.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cache
from typing import Any, cast

from sqlalchemy import Interval, Table, and_, bindparam, case, exists, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import ColumnElement

from atlas.db.models import Job, JobDependency, UTCDateTime
from atlas.jobs.records import BLOCKED, JobInfo
from atlas.vocabulary import PENDING

# A declarative class's __table__ is a Table; SQLAlchemy types it as any FromClause.
JOBS = cast(Table, Job.__table__)
DEPENDENCIES = cast(Table, JobDependency.__table__)
COLUMNS = [JOBS.c[f.name] for f in fields(JobInfo)]
_NEEDED = JOBS.alias("needed")


def _needs(*condition: ColumnElement) -> ColumnElement:
    """The job (the statement's ``jobs`` row) waits for a job that meets ``condition``."""
    return exists().where(DEPENDENCIES.c.job_id == JOBS.c.id, DEPENDENCIES.c.needs_job_id == _NEEDED.c.id,
                          *condition)


_WAITS_FOR_UNDONE = _needs(_NEEDED.c.status != "done")
_WAITS_FOR_FAILED = _needs(_NEEDED.c.status.in_(("failed", "cancelled")))


def info(row: Any) -> JobInfo:
    return JobInfo(**row._mapping)


def at(postgres: bool, name: str) -> ColumnElement:
    """A moment given at execution as parameter ``name`` (see ``JobQueue._moments``): the
    database's ``now()`` plus an interval on PostgreSQL, a Python UTC time on SQLite."""
    if postgres:
        return func.now() + bindparam(name, type_=Interval())
    return bindparam(name, type_=UTCDateTime())


# The claim token: still running, under this owner, in this attempt (see ``_token``).
MINE = and_(
    JOBS.c.id == bindparam("job_id"),
    JOBS.c.lease_owner == bindparam("owner"),
    JOBS.c.attempts == bindparam("attempt"),
    JOBS.c.status == "running",
)
_OUT_OF_ATTEMPTS = JOBS.c.attempts >= JOBS.c.max_attempts


@dataclass(frozen=True)
class Statements:
    enqueue: Any
    claim: Any
    claim_among: Any
    heartbeat: Any
    progress: Any
    complete: Any
    fail: Any
    release: Any
    reap: Any
    cancel: Any
    retry: Any
    promote: Any
    promote_among: Any
    block: Any
    revive: Any
    lock_dependents: Any


@cache
def statements(postgres: bool) -> Statements:
    now = at(postgres, "now")
    insert = postgresql.insert if postgres else sqlite.insert
    # What a claim may take (see ``_claim``).
    runnable = (JOBS.c.status == "queued", JOBS.c.run_after <= now,
                JOBS.c.kind.in_(bindparam("kinds", expanding=True)))
    among = JOBS.c.id.in_(bindparam("ids", expanding=True))  # a local compute's own jobs
    mine = update(JOBS).where(MINE)
    # Waiting jobs whose dependencies are all done become runnable.
    promote = (update(JOBS).where(JOBS.c.status == "waiting", ~_WAITS_FOR_UNDONE)
               .values(status="queued", run_after=now))
    return Statements(
        # NULL dedupe keys never conflict, so one statement serves jobs with and without.
        enqueue=insert(JOBS)
        .values(status=bindparam("status"), attempts=0, progress_done=0, run_after=now)
        .on_conflict_do_nothing(index_elements=[JOBS.c.dedupe_key])
        .returning(JOBS.c.id),
        claim=_claim(postgres, runnable),
        claim_among=_claim(postgres, (*runnable, among)),
        heartbeat=mine.values(lease_expires_at=at(postgres, "lease_until")),
        progress=mine.values(progress_done=bindparam("done"), progress_total=bindparam("total"),
                             progress_message=bindparam("message")),
        complete=mine.values(status="done", result=bindparam("output", type_=JOBS.c.result.type),
                             error=None, finished_at=now, lease_expires_at=None)
        .returning(exists().where(DEPENDENCIES.c.needs_job_id == JOBS.c.id)),
        fail=mine.values(
            status=case((_OUT_OF_ATTEMPTS, "failed"), else_="queued"), error=bindparam("failure"),
            finished_at=case((_OUT_OF_ATTEMPTS, now), else_=None), lease_expires_at=None,
            run_after=at(postgres, "retry_at"),
        ).returning(JOBS.c.status),
        release=mine.values(status="queued", attempts=JOBS.c.attempts - 1, lease_expires_at=None,
                            run_after=now),
        reap=update(JOBS).where(JOBS.c.status == "running", JOBS.c.lease_expires_at < now).values(
            status=case((_OUT_OF_ATTEMPTS, "failed"), else_="queued"),
            error=literal("lease expired: worker ") + JOBS.c.lease_owner
            + " stopped heartbeating (killed, or lost the database)",
            finished_at=case((_OUT_OF_ATTEMPTS, now), else_=None), lease_expires_at=None,
            run_after=now,
        ),
        cancel=update(JOBS).where(JOBS.c.id == bindparam("job_id"), JOBS.c.status.in_(PENDING))
        .values(status="cancelled", finished_at=now, lease_expires_at=None),
        retry=update(JOBS).where(JOBS.c.id == bindparam("job_id"), JOBS.c.status.in_(("failed", "cancelled")))
        .values(status=case((_WAITS_FOR_UNDONE, "waiting"), else_="queued"), attempts=0, error=None,
                result=None, finished_at=None, progress_done=0, progress_total=None,
                progress_message=None, run_after=now),
        promote=promote,
        promote_among=promote.where(JOBS.c.id.in_(bindparam("ids", expanding=True))),
        # Waiting jobs behind a failed or cancelled job can never run: they are cancelled,
        # marked BLOCKED so that retrying what blocked them brings them back (``revive``).
        block=update(JOBS).where(JOBS.c.status == "waiting", _WAITS_FOR_FAILED)
        .values(status="cancelled", error=BLOCKED, finished_at=now),
        revive=update(JOBS).where(
            JOBS.c.status == "cancelled", JOBS.c.error == BLOCKED,
            JOBS.c.id.in_(select(DEPENDENCIES.c.job_id)
                          .where(DEPENDENCIES.c.needs_job_id.in_(bindparam("ids", expanding=True)))),
        ).values(status="waiting", error=None, finished_at=None).returning(JOBS.c.id),
        # Taken by a completing job before it promotes: of two dependencies completing at
        # once, the second waits for the first to commit, then sees both done.
        lock_dependents=select(JOBS.c.id).where(
            JOBS.c.status == "waiting",
            JOBS.c.id.in_(select(DEPENDENCIES.c.job_id)
                          .where(DEPENDENCIES.c.needs_job_id == bindparam("job_id"))),
        ).with_for_update(),
    )


def _claim(postgres: bool, runnable: tuple[ColumnElement, ...]) -> Any:
    """Take the most urgent job that meets ``runnable``: the top priority first, then the
    oldest ``run_after``. Two index-ordered lookups on ix_jobs_claim (status, priority,
    run_after) that stop at the first match; one ORDER BY priority DESC, run_after would
    sort the whole backlog on every claim (80 ms with 50k queued jobs)."""
    now = at(postgres, "now")
    top_priority = (
        select(JOBS.c.priority).where(*runnable).order_by(JOBS.c.priority.desc()).limit(1)
        .scalar_subquery()
    )
    pick = (
        select(JOBS.c.id).where(*runnable, JOBS.c.priority == top_priority)
        .order_by(JOBS.c.run_after).limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    return (update(JOBS).where(JOBS.c.id == pick)
            .values(status="running", lease_owner=bindparam("new_owner"), attempts=JOBS.c.attempts + 1,
                    lease_expires_at=at(postgres, "lease_until"), started_at=now)
            .returning(*COLUMNS))


def token(job: JobInfo) -> dict[str, Any]:
    return {"job_id": job.id, "owner": job.lease_owner, "attempt": job.attempts}


