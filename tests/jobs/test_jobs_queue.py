"""The job queue in one process, on SQLite and PostgreSQL: claims, leases, completion in one
transaction, retries, cancel, progress, layer chunks, waiting, the worker loop and the CLI.
Crashes, signals and outages with real processes are in test_jobs_faults.py."""

from __future__ import annotations

import logging
import socket
import threading
import time

import jobkinds_for_tests  # noqa: F401 - registers the test.* kinds
import pytest
from sqlalchemy import select

from atlas import Catalog
from atlas.cli import main
from atlas.db.models import Dataset
from atlas.errors import DatabaseUnreachable, InvalidInput, NotFound
from atlas.jobs import JobQueue, JobSpec, LeaseLost
from atlas.jobs.records import WorkerActivity
from atlas.jobs.runtime import (
    JobContext,
    JobOutput,
    Worker,
    WorkerConfig,
    enqueue_layer_chunks,
    register_kind,
    wait_for_jobs,
)
from atlas.jobs.runtime.progress import ThrottledProgress
from atlas.jobs.runtime.worker import open_when_reachable
from tests.waiting import wait_until

FAST = dict(lease_seconds=3.0, poll_seconds=0.05, retry_backoff_seconds=0.05, exit_when_idle=True)


@pytest.fixture
def queue(catalog: Catalog) -> JobQueue:
    return JobQueue(catalog.engine)


def datasets(catalog: Catalog) -> list[str]:
    with catalog._reading() as session:
        return sorted(session.scalars(select(Dataset.name)))


def record(name: str):
    return lambda session: session.add(Dataset(name=name, kind="test", location="-"))


def expire(queue: JobQueue, job) -> None:
    """Make a claimed job's lease run out now, as if its worker had died."""
    assert queue.heartbeat(job, -1)


# -- enqueue and claim -----------------------------------------------------------------


def test_enqueue_with_dedupe_key_returns_the_existing_job(queue: JobQueue):
    first = queue.enqueue("test.noop", {"a": 1}, dedupe_key="k1")
    assert queue.enqueue("test.noop", {"a": 2}, dedupe_key="k1") == first
    ids = queue.enqueue_many([JobSpec("test.noop", dedupe_key="k2"), JobSpec("test.noop", dedupe_key="k1")])
    assert ids[1] == first and ids[0] != first
    assert queue.get(first).params == {"a": 1}
    assert queue.enqueue("test.noop") != queue.enqueue("test.noop")  # no key: always new
    with pytest.raises(InvalidInput):
        queue.enqueue("test.noop", max_attempts=0)


def test_claim_takes_priority_then_age_and_only_given_kinds(queue: JobQueue):
    low = queue.enqueue("test.noop", priority=0)
    high = queue.enqueue("test.noop", priority=5)
    other = queue.enqueue("test.sleep", priority=9)
    first = queue.claim_next_job("w1", ["test.noop"], 60)
    assert first.id == high and first.status == "running" and first.attempts == 1
    assert first.lease_owner == "w1" and first.lease_expires_at > first.started_at
    assert queue.claim_next_job("w2", ["test.noop"], 60).id == low
    assert queue.claim_next_job("w3", ["test.noop"], 60) is None
    assert queue.claim_next_job("w3", ["test.noop", "test.sleep"], 60).id == other


def test_claim_among_given_jobs_takes_only_those(queue: JobQueue):
    """A local compute claims only the jobs it queued, by priority, never another user's."""
    theirs = queue.enqueue("test.noop", priority=9)
    mine_low = queue.enqueue("test.noop", priority=0)
    mine_high = queue.enqueue("test.noop", priority=5)
    mine = [mine_low, mine_high]
    assert queue.claim_next_job("w1", ["test.noop"], 60, job_ids=mine).id == mine_high
    second = queue.claim_next_job("w1", ["test.noop"], 60, job_ids=mine)
    assert second.id == mine_low and second.lease_owner == "w1" and second.status == "running"
    assert queue.claim_next_job("w1", ["test.noop"], 60, job_ids=mine) is None
    assert queue.get(theirs).status == "queued"


def test_claim_takes_the_longest_waiting_of_equal_priority(queue: JobQueue):
    """A retried job waits from its retry time: the job queued after it but waiting since
    before is claimed first (the older job's lower id must not decide)."""
    retried = queue.enqueue("test.noop")
    waiting = queue.enqueue("test.noop")
    assert queue.fail(queue.claim_next_job("w1", ["test.noop"], 60), "boom", 0) == "queued"
    assert queue.claim_next_job("w1", ["test.noop"], 60).id == waiting
    assert queue.claim_next_job("w1", ["test.noop"], 60).id == retried


def test_complete_writes_result_and_rows_in_one_transaction(catalog: Catalog, queue: JobQueue):
    job_id = queue.enqueue("test.sleep")
    job = queue.claim_next_job("w1", ["test.sleep"], 60)
    queue.complete(job, {"answer": 42}, record("row-1"))
    done = queue.get(job_id)
    assert done.status == "done" and done.result == {"answer": 42} and done.finished_at
    assert datasets(catalog) == ["row-1"]


def test_a_failing_write_leaves_neither_rows_nor_completion(catalog: Catalog, queue: JobQueue):
    job_id = queue.enqueue("test.sleep")
    job = queue.claim_next_job("w1", ["test.sleep"], 60)

    def write(session) -> None:
        record("row-1")(session)
        session.flush()
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        queue.complete(job, {"x": 1}, write)
    assert queue.get(job_id).status == "running" and datasets(catalog) == []


def test_a_worker_whose_lease_expired_writes_nothing(catalog: Catalog, queue: JobQueue):
    job_id = queue.enqueue("test.sleep")
    slow = queue.claim_next_job("slow", ["test.sleep"], 60)
    expire(queue, slow)
    assert queue.reap_expired() == 1
    reaped = queue.get(job_id)
    assert reaped.status == "queued" and "lease expired: worker slow" in reaped.error
    fast = queue.claim_next_job("fast", ["test.sleep"], 60)
    assert fast.attempts == 2
    with pytest.raises(LeaseLost):
        queue.complete(slow, {"by": "slow"}, record("row"))
    queue.complete(fast, {"by": "fast"}, record("row"))
    assert queue.get(job_id).result == {"by": "fast"} and datasets(catalog) == ["row"]
    assert not queue.heartbeat(slow, 60)


def test_a_job_out_of_attempts_fails_when_its_lease_expires(queue: JobQueue):
    job_id = queue.enqueue("test.noop", max_attempts=1)
    expire(queue, queue.claim_next_job("w1", ["test.noop"], 60))
    queue.reap_expired()
    job = queue.get(job_id)
    assert job.status == "failed" and job.finished_at and "stopped heartbeating" in job.error


def test_fail_retries_after_backoff_then_fails_with_the_error(queue: JobQueue):
    backing_off = queue.enqueue("test.fail", max_attempts=2)
    assert queue.fail(queue.claim_next_job("w1", ["test.fail"], 60), "Traceback: x", backoff_seconds=60) == "queued"
    assert queue.claim_next_job("w1", ["test.fail"], 60) is None
    assert queue.get(backing_off).status == "queued"

    job_id = queue.enqueue("test.fail", max_attempts=2)
    assert queue.fail(queue.claim_next_job("w1", ["test.fail"], 60), "Traceback: first", backoff_seconds=0) == "queued"
    job = queue.claim_next_job("w1", ["test.fail"], 60)
    assert job.id == job_id and job.attempts == 2
    assert queue.fail(job, "Traceback: second", backoff_seconds=0) == "failed"
    failed = queue.get(job_id)
    assert failed.status == "failed" and failed.error == "Traceback: second" and failed.finished_at
    with pytest.raises(LeaseLost):
        queue.fail(job, "again", backoff_seconds=0)


def test_heartbeat_extends_the_lease_until_cancelled(queue: JobQueue):
    job_id = queue.enqueue("test.noop")
    job = queue.claim_next_job("w1", ["test.noop"], 5)
    before = queue.get(job_id).lease_expires_at
    assert queue.heartbeat(job, 600)
    assert queue.get(job_id).lease_expires_at > before
    assert queue.cancel(job_id)
    assert not queue.heartbeat(job, 600)
    with pytest.raises(LeaseLost):
        queue.complete(job, {})
    assert queue.get(job_id).status == "cancelled"


def test_release_gives_the_job_back_without_counting_the_attempt(queue: JobQueue):
    job_id = queue.enqueue("test.noop")
    assert queue.release(queue.claim_next_job("w1", ["test.noop"], 60))
    job = queue.get(job_id)
    assert job.status == "queued" and job.attempts == 0
    assert queue.claim_next_job("w2", ["test.noop"], 60).attempts == 1


def test_cancel_and_retry(queue: JobQueue):
    job_id = queue.enqueue("test.noop")
    assert queue.cancel(job_id) and not queue.cancel(job_id)
    assert queue.claim_next_job("w1", ["test.noop"], 60) is None
    assert queue.retry(job_id)
    job = queue.claim_next_job("w1", ["test.noop"], 60)
    assert job.attempts == 1
    queue.complete(job, {})
    assert not queue.retry(job_id) and not queue.cancel(job_id)
    with pytest.raises(NotFound):
        queue.cancel(999_999)


# -- dependencies ------------------------------------------------------------------------


def run_one(queue: JobQueue, worker: str = "w1"):
    """Claim and complete one test.noop job; returns it (None when none is runnable)."""
    job = queue.claim_next_job(worker, ["test.noop"], 60)
    if job is not None:
        queue.complete(job, {})
    return job


def test_a_job_waits_until_everything_it_needs_is_done(queue: JobQueue):
    first, second = queue.enqueue("test.noop"), queue.enqueue("test.noop")
    final = queue.enqueue_many([JobSpec("test.noop", after=(first, second), dedupe_key="final")])[0]
    assert queue.get(final).status == "waiting"
    assert queue.dependencies(final) == [(first, "queued"), (second, "queued")]
    assert run_one(queue).id == first
    assert queue.get(final).status == "waiting"
    assert run_one(queue).id == second
    assert queue.get(final).status == "queued"
    assert run_one(queue).id == final
    # Enqueued again by its dedupe key: the same job; after finished jobs: queued at once.
    assert queue.enqueue_many([JobSpec("test.noop", after=(first,), dedupe_key="final")]) == [final]
    late = queue.enqueue_many(JobSpec("test.noop", after=(first, second)) for _ in range(1))[0]
    assert queue.get(late).status == "queued"  # specs from a generator too
    with pytest.raises(NotFound, match="do not exist"):
        queue.enqueue_many([JobSpec("test.noop", after=(999_999,))])


def test_a_failed_dependency_cancels_the_chain_and_retrying_it_brings_it_back(queue: JobQueue):
    chunk = queue.enqueue("test.noop", max_attempts=1)
    other = queue.enqueue("test.noop")
    rank = queue.enqueue_many([JobSpec("test.noop", after=(chunk, other))])[0]
    report = queue.enqueue_many([JobSpec("test.noop", after=(rank,))])[0]
    job = queue.claim_next_job("w1", ["test.noop"], 60)
    assert job.id == chunk and queue.fail(job, "boom", 0) == "failed"
    for job_id in (rank, report):
        blocked = queue.get(job_id)
        assert blocked.status == "cancelled" and blocked.error.startswith("blocked:")
    assert queue.retry(chunk)
    assert [queue.get(i).status for i in (chunk, rank, report)] == ["queued", "waiting", "waiting"]
    assert {run_one(queue).id, run_one(queue).id} == {chunk, other}
    assert run_one(queue).id == rank and run_one(queue).id == report
    assert run_one(queue) is None


def test_cancelling_a_dependency_cancels_its_dependents_and_retrying_a_blocked_job_waits(queue: JobQueue):
    chunk = queue.enqueue("test.noop")
    rank = queue.enqueue_many([JobSpec("test.noop", after=(chunk,))])[0]
    assert queue.cancel(chunk)
    assert queue.get(rank).status == "cancelled"
    # Retrying only the dependent: it is blocked again at once, its dependency still cancelled.
    assert queue.retry(rank)
    assert queue.get(rank).status == "cancelled"
    assert queue.cancel(queue.enqueue("test.noop")) and not queue.cancel(rank)
    waiting = queue.enqueue_many([JobSpec("test.noop", after=(queue.enqueue("test.noop"),))])[0]
    assert queue.cancel(waiting) and queue.get(waiting).status == "cancelled"


def test_dependents_of_jobs_completing_at_once_are_queued_exactly_once(catalog: Catalog, queue: JobQueue):
    chunks = [queue.enqueue("test.noop", {"i": i}) for i in range(24)]
    final = queue.enqueue_many([JobSpec("test.noop", after=tuple(chunks))])[0]
    claimed = [queue.claim_next_job(f"w{i}", ["test.noop"], 60) for i in range(24)]
    assert {job.id for job in claimed} == set(chunks)
    errors: list[BaseException] = []

    def complete(job) -> None:
        try:
            queue.complete(job, {})
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=complete, args=(job,)) for job in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert queue.get(final).status == "queued"  # no sweep needed: the completions saw each other
    assert run_one(queue).id == final


def test_progress_is_written_at_most_once_per_interval(queue: JobQueue):
    job_id = queue.enqueue("test.noop")
    job = queue.claim_next_job("w1", ["test.noop"], 60)
    writes = []

    def write(done, total, message) -> bool:
        writes.append(done)
        return queue.set_progress(job, done, total, message)

    clock = [100.0]  # the throttle's clock, moved by hand: no bet on the machine's speed
    progress = ThrottledProgress(write, interval_seconds=0.5, clock=lambda: clock[0])
    for i in range(1, 101):
        progress(i, 100, f"unit {i}")
    assert writes == [1]
    clock[0] += 0.25  # (binary fractions: exact sums)
    progress(100, 100, "still within the interval")
    assert writes == [1]
    clock[0] += 0.25
    progress(101, 200, "later")
    assert writes == [1, 101]
    progress(150, 200, "last")
    assert writes == [1, 101]
    progress.flush()
    assert writes == [1, 101, 150]
    now = queue.get(job_id)
    assert (now.progress_done, now.progress_total, now.progress_message) == (150, 200, "last")
    assert not progress.lost
    queue.cancel(job_id)
    progress(160, 200)
    progress.flush()
    assert progress.lost


# -- layer chunks and waiting ----------------------------------------------------------


def test_enqueue_layer_chunks_splits_units_and_dedupes(demo_catalog: Catalog):
    queue = JobQueue(demo_catalog.engine)
    ids = enqueue_layer_chunks(demo_catalog, "test.noop", "demo", "conv2", chunk_size=5,
                               params={"steps": 10})
    jobs = queue.get_many(ids)
    assert [job.params["units"] for job in jobs] == [
        [0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11, 12, 13, 14], [15]
    ]
    assert all(job.params["steps"] == 10 and job.params["layer"] == "conv2" for job in jobs)
    assert jobs[0].dedupe_key.startswith("test.noop:demo/conv2:0-4:")
    again = enqueue_layer_chunks(demo_catalog, "test.noop", "demo", "conv2", chunk_size=5,
                                 params={"steps": 10})
    assert again == ids
    other = enqueue_layer_chunks(demo_catalog, "test.noop", "demo", "conv2", units=[3, 1, 3],
                                 chunk_size=5, params={"steps": 20})
    assert queue.get(other[0]).params["units"] == [1, 3] and other[0] not in ids
    with pytest.raises(InvalidInput, match="outside demo/conv2"):
        enqueue_layer_chunks(demo_catalog, "test.noop", "demo", "conv2", units=[16])
    with pytest.raises(InvalidInput):
        enqueue_layer_chunks(demo_catalog, "test.noop", "demo", "conv2", chunk_size=0)
    with pytest.raises(NotFound):
        enqueue_layer_chunks(demo_catalog, "test.noop", "demo", "nope")


class FakeBar:
    """Stands in for tqdm: records what the bar showed."""

    def __init__(self, total: float, **_: object):
        self.total, self.n, self.shown = total, 0.0, []

    def __enter__(self) -> FakeBar:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def set_postfix_str(self, text: str, refresh: bool = True) -> None:
        self.postfix = text

    def refresh(self) -> None:
        self.shown.append((self.n, self.postfix))


def test_wait_for_jobs_shows_progress_until_all_finish(catalog: Catalog, queue: JobQueue):
    ids = [queue.enqueue("test.sleep", {"name": f"w{i}", "seconds": 0.2}) for i in range(3)]
    bars: list[FakeBar] = []

    def bar(**kwargs: object) -> FakeBar:
        bars.append(FakeBar(**kwargs))
        return bars[-1]

    worker = Worker(catalog, WorkerConfig(**FAST))
    thread = threading.Thread(target=worker.run)
    thread.start()
    jobs = wait_for_jobs(catalog, ids, progress=bar, poll_seconds=0.05)
    thread.join(30)
    assert [job.status for job in jobs] == ["done"] * 3
    assert bars[0].total == 3 and bars[0].shown[-1] == (3.0, "3 done")
    assert len(bars[0].shown) > 2
    with pytest.raises(NotFound):
        wait_for_jobs(catalog, [999_999], progress=bar)


# -- the worker loop -------------------------------------------------------------------


def test_worker_runs_completes_retries_and_logs_one_line_per_job(
    catalog: Catalog, queue: JobQueue, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO, logger="atlas.jobs")
    noop = queue.enqueue("test.noop")
    slept = queue.enqueue("test.sleep", {"name": "s1", "seconds": 0.1})
    flaky = queue.enqueue("test.fail", {"fail_times": 1}, max_attempts=3)
    broken = queue.enqueue("test.fail", max_attempts=2)
    Worker(catalog, WorkerConfig(**FAST)).run()
    assert queue.get(noop).result == {"ok": True}
    assert queue.get(slept).status == "done" and datasets(catalog) == ["s1"]
    assert queue.get(slept).progress_done == queue.get(slept).progress_total == 2
    assert queue.get(flaky).result == {"succeeded_on": 2}
    failed = queue.get(broken)
    assert failed.status == "failed" and failed.attempts == 2
    assert "ValueError: boom on attempt 2" in failed.error and "Traceback" in failed.error
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("job ")]
    assert len(lines) == 6  # noop, sleep, flaky twice, broken twice
    assert f"job {noop} test.noop done after" in lines[0]
    assert any(f"job {broken} test.fail failed (ValueError: boom on attempt 2)" in line for line in lines)


def test_heartbeats_keep_a_job_longer_than_its_lease(catalog: Catalog, queue: JobQueue):
    # A job 2.5 leases long; a heartbeat every lease/3 = 0.5 s may be a whole second late
    # (a loaded machine, SQLite's write lock shared with the reaper) before it is missed.
    job_id = queue.enqueue("test.sleep", {"name": "long", "seconds": 3.75})
    worker = Worker(catalog, WorkerConfig(**{**FAST, "lease_seconds": 1.5}))
    thread = threading.Thread(target=worker.run)
    thread.start()
    reaped = 0
    while thread.is_alive():  # another worker looking for dead leases all along
        reaped += queue.reap_expired()
        time.sleep(0.05)
    job = queue.get(job_id)
    assert reaped == 0 and job.status == "done" and job.attempts == 1


def test_worker_stop_releases_a_cooperative_job(catalog: Catalog, queue: JobQueue):
    job_id = queue.enqueue("test.sleep", {"name": "long", "seconds": 30})
    worker = Worker(catalog, WorkerConfig(**FAST))
    thread = threading.Thread(target=worker.run)
    thread.start()
    wait_until(lambda: queue.get(job_id).status == "running", message="the job to start")
    worker.request_stop()
    thread.join(10)
    assert not thread.is_alive()
    job = queue.get(job_id)
    assert job.status == "queued" and job.attempts == 0 and datasets(catalog) == []


def test_a_cancelled_job_stops_and_writes_nothing(catalog: Catalog, queue: JobQueue):
    job_id = queue.enqueue("test.sleep", {"name": "long", "seconds": 30})
    worker = Worker(catalog, WorkerConfig(**{**FAST, "lease_seconds": 1.5}))
    thread = threading.Thread(target=worker.run)
    thread.start()
    wait_until(lambda: queue.get(job_id).status == "running", message="the job to start")
    queue.cancel(job_id)
    thread.join(10)
    assert not thread.is_alive()
    assert queue.get(job_id).status == "cancelled" and datasets(catalog) == []


def test_worker_rejects_unknown_kinds_and_bad_outputs(catalog: Catalog, queue: JobQueue):
    with pytest.raises(NotFound, match="no job kind 'nope'"):
        Worker(catalog, WorkerConfig(kinds=["nope"]))
    register_kind("test.bad_output", lambda ctx: {"not": "a JobOutput"})
    job_id = queue.enqueue("test.bad_output", max_attempts=1)
    Worker(catalog, WorkerConfig(kinds=["test.bad_output"], **FAST)).run()
    assert "returned dict, not JobOutput" in queue.get(job_id).error
    with pytest.raises(InvalidInput, match="already registered"):
        register_kind("test.noop", lambda ctx: JobOutput())


def test_context_exposes_job_and_device(catalog: Catalog, queue: JobQueue):
    seen: list[JobContext] = []
    register_kind("test.capture", lambda ctx: seen.append(ctx) or JobOutput())
    job_id = queue.enqueue("test.capture", {"p": 1})
    Worker(catalog, WorkerConfig(kinds=["test.capture"], device="cpu", **FAST)).run()
    ctx = seen[0]
    assert (ctx.job_id, ctx.params, ctx.device, ctx.catalog) == (job_id, {"p": 1}, "cpu", catalog)
    assert not ctx.should_stop


# -- CLI -------------------------------------------------------------------------------


def test_jobs_cli_list_show_retry_cancel(catalog: Catalog, queue: JobQueue, db_url: str,
                                         blob_dir: str, capsys: pytest.CaptureFixture):
    def atlas(*args: str, user: str = "carl") -> tuple[int, str, str]:
        code = main(["--db", db_url, "--blobs", blob_dir, "--user", user, *args])
        out, err = capsys.readouterr()
        return code, out, err

    broken = queue.enqueue("test.fail", {"why": "test"}, max_attempts=1)
    waiting = queue.enqueue("test.noop")
    code, out, err = atlas("worker", "--device", "cpu", "--kinds", "test.fail",
                           "--import", "jobkinds_for_tests", "--exit-when-idle", "--poll", "0.05")
    assert code == 0
    code, out, _ = atlas("jobs", "show", str(broken))
    assert code == 0 and f"job {broken}  test.fail  failed" in out
    assert "attempts:   1/1" in out and "ValueError: boom on attempt 1" in out and '{"why": "test"}' in out
    code, out, _ = atlas("jobs", "list")
    assert code == 0 and "all jobs: 1 queued, 1 failed" in out and "test.fail" in out
    code, out, _ = atlas("jobs", "list", "--status", "queued")
    assert "test.noop" in out and "test.fail  " not in out
    assert atlas("jobs", "retry", "--all-failed")[0] == 0
    assert queue.get(broken).status == "queued"
    code, out, _ = atlas("jobs", "cancel", str(broken), str(waiting))
    assert code == 0 and out.count("cancelled") == 2
    code, out, _ = atlas("jobs", "cancel", str(waiting))
    assert code == 1 and "is cancelled: only waiting, queued or running jobs can be cancelled" in out
    after = queue.enqueue_many([JobSpec("test.noop", after=(broken,))])[0]
    code, out, _ = atlas("jobs", "show", str(after))
    assert code == 0 and f"waits for:  {broken} (cancelled)" in out and "blocked:" in out
    assert [e.action for e in catalog.audit_log(limit=5)][:3] == ["jobs.cancel", "jobs.cancel", "jobs.retry"]
    assert atlas("jobs", "list", "--status", "waiting")[0] == 0
    code, _, err = atlas("jobs", "cancel", str(waiting), user="vic")
    assert code == 1 and "viewer" in err
    code, _, err = atlas("jobs", "retry", str(broken), user="vic")
    assert code == 1 and "viewer" in err and queue.get(broken).status == "cancelled"
    code, _, err = atlas("jobs", "show", "999999")
    assert code == 1 and "no job 999999" in err
    code, _, err = atlas("worker", "--device", "cpu", "--import", "no_such_module_here")
    assert code == 1 and "cannot import job kinds from 'no_such_module_here'" in err


@pytest.mark.parametrize("dialect", ["postgresql"])  # a server to be down; SQLite has none
def test_a_worker_waits_a_while_for_an_unreachable_database_then_says_why(
    empty_db_url: str, blob_dir: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture
):
    with socket.socket() as sock:  # a port where no server listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = f"postgresql://postgres@127.0.0.1:{port}/atlas"
    calls: list[float] = []

    def open_catalog() -> Catalog:
        calls.append(time.monotonic())
        return Catalog.open(down, blob_dir)

    with caplog.at_level(logging.WARNING, logger="atlas.jobs"), pytest.raises(DatabaseUnreachable):
        open_when_reachable(open_catalog, timeout=1.0)
    assert len(calls) >= 2 and "waiting for the database" in caplog.text
    assert main(["--db", down, "--blobs", blob_dir, "worker", "--wait-for-db", "0"]) == 1
    assert f"cannot connect to database postgresql+psycopg://postgres@127.0.0.1:{port}/atlas" in capsys.readouterr().err
    # A reachable database that is not migrated is not worth waiting for.
    started = time.monotonic()
    assert main(["--db", empty_db_url, "--blobs", blob_dir, "worker", "--wait-for-db", "60"]) == 1
    assert time.monotonic() - started < 30 and "not migrated" in capsys.readouterr().err  # not 60


# -- workers as the queue sees them ------------------------------------------------------


def test_worker_activity_sees_live_leases_and_recent_jobs_and_gives_a_rate(queue: JobQueue):
    assert queue.worker_activity() == WorkerActivity(False, 0, 60.0, 600.0)
    for _ in range(3):
        queue.enqueue("test.noop")
    assert not queue.worker_activity().seen  # queued, and nobody has claimed anything
    job = queue.claim_next_job("w1", ["test.noop"], 60)
    assert queue.worker_activity(seen_window=0.0).seen  # a live lease is a worker, however long ago it began
    expire(queue, job)
    assert queue.worker_activity().seen  # its lease ran out, but it started within the minute
    assert not queue.worker_activity(seen_window=0.0).seen
    queue.complete(queue.claim_next_job("w2", ["test.noop"], 60), {})
    activity = queue.worker_activity()
    assert activity.finished == 1 and activity.seconds_left(2.5) == pytest.approx(2.5 * 600)
    assert queue.worker_activity(rate_window=0.0).seconds_left(2.5) is None  # no recent rate: no guess
    wait_until(lambda: not queue.worker_activity(seen_window=0.5).seen, timeout=30,
               message="the finished job to fall out of a half-second window")
