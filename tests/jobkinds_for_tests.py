"""Job kinds for the queue's tests: a worker loads them with ``--import jobkinds_for_tests``.

``test.sleep`` stores one ``datasets`` row per job, named after the job's ``name`` param,
in its completion transaction: the unique constraint on ``datasets.name`` turns any
duplicated completion into an error, so "exactly once" is checked by the database.
"""

from __future__ import annotations

import os
import time

from sqlalchemy.orm import Session

from atlas.db.models import Dataset
from atlas.jobs.runtime import JobContext, JobOutput, job_kind

STEP_SECONDS = 0.05


@job_kind("test.noop")
def noop(ctx: JobContext) -> JobOutput:
    return JobOutput(result={"ok": True})


@job_kind("test.sleep")
def sleep_and_record(ctx: JobContext) -> JobOutput:
    """Sleep ``seconds`` in small steps (reporting progress, stopping when asked), then
    record a row named ``name``."""
    seconds = float(ctx.params.get("seconds", 0))
    steps = max(1, round(seconds / STEP_SECONDS))
    for step in range(steps):
        ctx.check_stop()
        time.sleep(seconds / steps)
        ctx.progress(step + 1, steps, f"step {step + 1}")
    name = ctx.params["name"]

    def write(session: Session) -> None:
        session.add(Dataset(name=name, kind="test", location=f"job {ctx.job_id} pid {os.getpid()}"))

    return JobOutput(result={"name": name, "pid": os.getpid()}, write=write)


@job_kind("test.fail")
def fail(ctx: JobContext) -> JobOutput:
    """Fail the first ``fail_times`` attempts (all of them by default), then succeed."""
    if ctx.job.attempts <= ctx.params.get("fail_times", 10**9):
        raise ValueError(f"boom on attempt {ctx.job.attempts}")
    return JobOutput(result={"succeeded_on": ctx.job.attempts})
