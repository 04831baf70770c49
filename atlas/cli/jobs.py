"""``atlas worker`` and ``atlas jobs list|show|retry|cancel``: thin layers on atlas.jobs."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from datetime import datetime

from atlas.bounds import MAX_INT64, MAX_ROWS
from atlas.catalog import Catalog
from atlas.catalog.records import JobInfo
from atlas.cli.common import bounded_int
from atlas.vocabulary import JOB_STATUSES, USER_ACTIONS, format_counts

MAX_SECONDS = 7 * 24 * 3600.0  # a week: longer is a typo, and 1e300 overflows timedelta


def _seconds(value: str, zero_allowed: bool) -> float:
    number = float(value)
    above_low = number >= 0 if zero_allowed else number > 0
    if not (above_low and number <= MAX_SECONDS):  # nan fails both comparisons
        lowest = "0" if zero_allowed else "more than 0"
        raise argparse.ArgumentTypeError(f"expected seconds from {lowest} to {MAX_SECONDS:g}, not {value}")
    return number


def _positive(value: str) -> float:
    return _seconds(value, zero_allowed=False)


def _non_negative(value: str) -> float:
    return _seconds(value, zero_allowed=True)


JOB_ID = bounded_int(1, MAX_INT64)


def _catalog(args: argparse.Namespace) -> Catalog:
    return Catalog.open(args.db, args.blobs, args.user)


def _progress(job: JobInfo) -> str:
    if job.progress_total:
        return f"{job.progress_done}/{job.progress_total} ({100 * job.fraction:.0f}%)"
    return str(job.progress_done) if job.progress_done else "-"


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S}" if moment else "-"


# -- worker --------------------------------------------------------------------------


def cmd_worker(args: argparse.Namespace) -> int:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    logging.getLogger("atlas").setLevel(logging.INFO)
    if args.imports:  # like `python -m`: modules in the current directory can be imported
        sys.path.insert(0, os.getcwd())
    from atlas.compute.run import run_worker  # the worker runtime: only this command needs it

    run_worker(
        lambda: _catalog(args), imports=args.imports, wait_for_db=args.wait_for_db,
        kinds=args.kinds, device=args.device, lease_seconds=args.lease,
        poll_seconds=args.poll, retry_backoff_seconds=args.retry_backoff,
        retry_backoff_max_seconds=args.retry_backoff_max, exit_when_idle=args.exit_when_idle,
    )
    return 0


# -- jobs ----------------------------------------------------------------------------


def cmd_jobs_list(args: argparse.Namespace) -> None:
    with _catalog(args) as catalog:
        jobs = catalog.jobs(args.status, args.limit, kind=args.kind)
        counts = catalog.job_counts()
    print(f"{'ID':>6}  {'KIND':<20} {'STATUS':<10} {'TRIES':<6} {'PROGRESS':<16} CREATED")
    for job in jobs:
        print(f"{job.id:>6}  {job.kind:<20} {job.status:<10} {job.attempts}/{job.max_attempts:<4} "
              f"{_progress(job):<16} {job.created_at:%Y-%m-%d %H:%M:%S}")
    print(f"all jobs: {format_counts(counts) or 'none'}")


def cmd_jobs_show(args: argparse.Namespace) -> None:
    with _catalog(args) as catalog:
        job = catalog.job(args.id)
        waits_for = catalog.job_dependencies(job.id)
    print(f"job {job.id}  {job.kind}  {job.status}")
    print(f"  params:     {json.dumps(job.params, sort_keys=True)}")
    print(f"  priority:   {job.priority}   dedupe key: {job.dedupe_key or '-'}")
    print(f"  attempts:   {job.attempts}/{job.max_attempts}"
          + (f"   next try after {_when(job.run_after)}" if job.status == "queued" and job.attempts else ""))
    lease = f" (lease until {_when(job.lease_expires_at)})" if job.status == "running" else ""
    print(f"  worker:     {job.lease_owner or '-'}{lease}")
    if waits_for:
        print(f"  waits for:  {', '.join(f'{i} ({status})' for i, status in waits_for)}")
    print(f"  progress:   {_progress(job)}" + (f"  {job.progress_message}" if job.progress_message else ""))
    print(f"  created:    {_when(job.created_at)}   started: {_when(job.started_at)}   "
          f"finished: {_when(job.finished_at)}")
    if job.result is not None:
        print(f"  result:     {json.dumps(job.result, sort_keys=True)}")
    if job.error:
        print("  error:" if job.status == "failed" else "  last error:")
        for line in job.error.rstrip().splitlines():
            print(f"    {line}")


def _for_each(args: argparse.Namespace, act: str, ids: list[int]) -> int:
    done, applies_to = USER_ACTIONS[act]
    with _catalog(args) as catalog:
        # Through the catalogue: a curator's act, recorded in the audit log.
        action = catalog.retry_job if act == "retry" else catalog.cancel_job
        refused = 0
        for job_id in ids:
            if action(job_id):
                print(f"job {job_id}: {done}")
            else:
                refused += 1
                print(f"job {job_id} is {catalog.job(job_id).status}: only {applies_to} jobs can be {done}")
    return 1 if refused else 0


def cmd_jobs_retry(args: argparse.Namespace) -> int:
    ids = list(args.ids)
    if args.all_failed:
        with _catalog(args) as catalog:
            ids += [job.id for job in catalog.jobs("failed", limit=None, kind=args.kind)]
    if not ids:
        print("no jobs to retry")
        return 0
    return _for_each(args, "retry", ids)


def cmd_jobs_cancel(args: argparse.Namespace) -> int:
    return _for_each(args, "cancel", args.ids)


# -- parser --------------------------------------------------------------------------


def _add(sub: argparse._SubParsersAction, name: str, handler, help: str) -> argparse.ArgumentParser:  # noqa: ANN001
    parser = sub.add_parser(name, help=help, description=help)
    parser.set_defaults(handler=handler)
    return parser


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``worker`` and ``jobs`` commands to the ``atlas`` parser."""
    worker = _add(sub, "worker", cmd_worker, "claim and run compute jobs until stopped "
                  "(SIGTERM/Ctrl-C: finish or give back the current job, then exit)")
    worker.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="where to compute (default: auto, CUDA when there is a GPU)")
    worker.add_argument("--kinds", nargs="+", metavar="KIND",
                        help="only these job kinds (default: every kind this worker knows)")
    worker.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE",
                        help="import MODULE to register more job kinds (repeatable)")
    worker.add_argument("--lease", type=_positive, default=60.0, metavar="SECONDS",
                        help="a job is taken over this long after its worker stops "
                        "heartbeating (default: 60)")
    worker.add_argument("--poll", type=_positive, default=1.0, metavar="SECONDS",
                        help="wait between claims when there is no work (default: 1)")
    worker.add_argument("--retry-backoff", type=_positive, default=2.0, metavar="SECONDS",
                        help="wait before retrying a failed job, doubled each attempt (default: 2)")
    worker.add_argument("--retry-backoff-max", type=_positive, default=300.0, metavar="SECONDS",
                        help="longest wait before a retry (default: 300)")
    worker.add_argument("--wait-for-db", type=_non_negative, default=300.0, metavar="SECONDS",
                        help="at start, keep trying to reach the database this long "
                        "(default: 300; 0: fail at once)")
    worker.add_argument("--exit-when-idle", action="store_true",
                        help="exit once no job of its kinds is queued or running")

    jobs = sub.add_parser("jobs", help="compute jobs: list, show, retry, cancel",
                          description="compute jobs in the queue")
    jobs_sub = jobs.add_subparsers(dest="jobs_command", metavar="COMMAND", required=True)
    listing = _add(jobs_sub, "list", cmd_jobs_list, "recent jobs, newest first, and counts by status")
    listing.add_argument("--status", choices=JOB_STATUSES)
    listing.add_argument("--kind")
    listing.add_argument("--limit", type=bounded_int(1, MAX_ROWS), default=30)
    show = _add(jobs_sub, "show", cmd_jobs_show, "one job: status, attempts, progress, result, error")
    show.add_argument("id", type=JOB_ID)
    retry = _add(jobs_sub, "retry", cmd_jobs_retry, "queue failed or cancelled jobs again")
    retry.add_argument("ids", type=JOB_ID, nargs="*", metavar="ID")
    retry.add_argument("--all-failed", action="store_true", help="every failed job (of --kind)")
    retry.add_argument("--kind", help="with --all-failed: only this kind")
    cancel = _add(jobs_sub, "cancel", cmd_jobs_cancel, "cancel queued or running jobs")
    cancel.add_argument("ids", type=JOB_ID, nargs="+", metavar="ID")
