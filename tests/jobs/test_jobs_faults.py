"""Fault tests of the job queue with real worker processes (`atlas worker`) and real
databases: many workers, SIGKILL mid-job, failing jobs, SIGTERM, a PostgreSQL restart.

Exactly-once is checked by the database: each ``test.sleep`` job stores one ``datasets``
row with a unique name in its completion transaction (tests/jobkinds_for_tests.py).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from glob import glob
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from atlas import Catalog
from atlas.cli import main
from atlas.db import migrate
from atlas.db.models import Dataset
from atlas.jobs import JobQueue, JobSpec
from tests.availability import unavailable
from tests.waiting import wait_until

pytestmark = pytest.mark.slow

TESTS = Path(__file__).resolve().parents[1]


class Workers:
    """`atlas worker` processes on one database, each logging to its own file."""

    def __init__(self, db_url: str, blob_dir: str, log_dir: Path):
        self.db_url, self.blob_dir, self.log_dir = db_url, blob_dir, log_dir
        self.procs: list[subprocess.Popen] = []

    def start(self, *options: str) -> subprocess.Popen:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))}
        log = open(self.log_dir / f"worker-{len(self.procs)}.log", "w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "atlas.cli", "--db", self.db_url, "--blobs", self.blob_dir, "--user", "alice",
             "worker", "--device", "cpu", "--import", "jobkinds_for_tests", "--poll", "0.05",
             *options],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )
        log.close()
        self.procs.append(proc)
        return proc

    def wait_started(self) -> None:
        """Until every worker has logged that it is polling for jobs."""
        wait_until(lambda: all(" started: kinds " in self.log(i) for i in range(len(self.procs))),
                   timeout=60, message="the workers to start")

    def log(self, index: int) -> str:
        return (self.log_dir / f"worker-{index}.log").read_text()

    def logs(self) -> str:
        return "\n".join(self.log(i) for i in range(len(self.procs)))

    def wait(self, timeout: float = 90) -> list[int]:
        deadline = time.monotonic() + timeout
        try:
            return [proc.wait(max(0.1, deadline - time.monotonic())) for proc in self.procs]
        except subprocess.TimeoutExpired:
            pytest.fail(f"workers did not finish in {timeout}s:\n{self.logs()[-4000:]}")

    def stop_when_done(self, queue: JobQueue, jobs: int) -> list[int]:
        """Wait for ``jobs`` jobs to be done, then stop the workers with SIGTERM."""
        wait_until(lambda: queue.counts().get("done", 0) >= jobs, timeout=90, message=f"{jobs} jobs done")
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        return self.wait()

    def kill_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.fixture
def workers(db_url: str, blob_dir: str, tmp_path: Path) -> Iterator[Workers]:
    group = Workers(db_url, blob_dir, tmp_path)
    yield group
    group.kill_all()


@pytest.fixture
def queue(db_url: str, blob_dir: str) -> Iterator[JobQueue]:
    catalog = Catalog.open(db_url, blob_dir, user="alice")
    if not catalog.users():  # workers act as alice, who must be a curator or above
        catalog.add_user("alice", "admin")
    yield JobQueue(catalog.engine)
    catalog.close()


def rows(queue: JobQueue) -> list[Dataset]:
    with Session(queue.engine) as session:
        return list(session.scalars(select(Dataset).order_by(Dataset.name)))


def sleep_jobs(queue: JobQueue, n: int, seconds: float = 0.0, **spec: object) -> list[int]:
    return queue.enqueue_many(
        JobSpec("test.sleep", {"name": f"job-{i:04d}", "seconds": seconds}, **spec) for i in range(n)
    )


def assert_each_done_once(queue: JobQueue, ids: list[int], logs: str) -> None:
    jobs = queue.get_many(ids)
    assert [job.status for job in jobs] == ["done"] * len(ids), logs[-3000:]
    assert sorted(row.name for row in rows(queue)) == sorted(job.params["name"] for job in jobs)
    done = [line.split(" job ")[1].split()[0] for line in logs.splitlines() if " test.sleep done after " in line]
    assert len(done) == len(set(done)), "a job was reported done twice"
    assert "Traceback" not in logs


# -- many workers ----------------------------------------------------------------------


@pytest.mark.parametrize("dialect", ["postgresql"])
def test_four_workers_share_200_jobs_each_done_exactly_once(queue: JobQueue, workers: Workers):
    for _ in range(4):
        workers.start()
    workers.wait_started()  # jobs arrive while all four are polling: they must share them
    ids = sleep_jobs(queue, 200)
    assert workers.stop_when_done(queue, len(ids)) == [0, 0, 0, 0], workers.logs()[-3000:]
    assert_each_done_once(queue, ids, workers.logs())
    assert all(job.attempts == 1 for job in queue.get_many(ids))  # no job was ever claimed twice
    assert len({job.result["pid"] for job in queue.get_many(ids)}) >= 2  # the work was shared


@pytest.mark.parametrize("dialect", ["postgresql"])
def test_four_workers_run_each_final_job_once_after_all_its_chunks(queue: JobQueue, workers: Workers):
    for _ in range(4):
        workers.start()
    workers.wait_started()
    groups = []
    for g in range(30):
        chunks = queue.enqueue_many(JobSpec("test.sleep", {"name": f"g{g:02d}-chunk{c}", "seconds": 0.02})
                                    for c in range(5))
        [final] = queue.enqueue_many([JobSpec("test.sleep", {"name": f"g{g:02d}-final"}, after=tuple(chunks))])
        groups.append((chunks, final))
    ids = [job for chunks, final in groups for job in (*chunks, final)]
    assert workers.stop_when_done(queue, len(ids)) == [0, 0, 0, 0], workers.logs()[-3000:]
    assert_each_done_once(queue, ids, workers.logs())
    for chunks, final in groups:
        last_chunk = max(job.finished_at for job in queue.get_many(chunks))
        assert queue.get(final).started_at >= last_chunk
    assert len({job.result["pid"] for job in queue.get_many(ids)}) >= 2


@pytest.mark.parametrize("dialect", ["postgresql"])
def test_workers_share_the_chunks_of_one_layer_pair(catalog: Catalog, queue: JobQueue, workers: Workers):
    from atlas.compute.connections import attribution_connections
    from atlas.compute.datasets.spec import open_dataset, parse_dataset
    from atlas.compute.demo_atlas import register_demo_models
    from atlas.compute.registration import load_registered
    from atlas.jobs.runtime import enqueue_connections

    register_demo_models(catalog)
    for _ in range(3):
        workers.start()
    workers.wait_started()
    dataset = parse_dataset("synthetic:48", 64)
    ids = enqueue_connections(catalog, "demo", "conv2", "conv3", "attribution", k=3, chunk_size=6, dataset=dataset)
    assert workers.stop_when_done(queue, len(ids)) == [0, 0, 0], workers.logs()[-3000:]
    jobs = queue.get_many(ids)
    assert all(job.status == "done" and job.attempts == 1 for job in jobs)
    assert len({job.lease_owner for job in jobs[:-1]}) >= 2  # several workers computed the pair
    model = load_registered(catalog, "demo", "cpu")
    whole = attribution_connections(model, "conv2", "conv3", open_dataset(dataset), k=3)
    assert jobs[-1].result["edges"] == len(whole) == catalog.stats()["edges"]
    top = catalog.top_outputs("demo/conv2/0", k=3, kind="attribution")
    expected = sorted(zip(whole.rank_out[whole.src == 0], whole.dst[whole.src == 0]))[:3]
    assert [(edge.rank, edge.dst) for edge in top] == [(int(r), f"demo/conv3/{d}") for r, d in expected]


@pytest.mark.parametrize("dialect", ["sqlite"])
def test_two_sqlite_workers_never_hit_database_is_locked(queue: JobQueue, workers: Workers):
    workers.start()
    workers.start()
    workers.wait_started()
    ids = sleep_jobs(queue, 120)
    assert workers.stop_when_done(queue, len(ids)) == [0, 0], workers.logs()[-3000:]
    assert "locked" not in workers.logs()
    assert_each_done_once(queue, ids, workers.logs())


# -- crashes, failures, shutdown -------------------------------------------------------


def test_a_job_of_a_killed_worker_is_taken_over_after_its_lease(queue: JobQueue, workers: Workers):
    [victim] = sleep_jobs(queue, 1, seconds=3)  # long enough that the kill lands mid-job under load
    first = workers.start("--lease", "2")
    wait_until(lambda: queue.get(victim).progress_done >= 1, message="the job to be under way")
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert queue.get(victim).status == "running"  # a dead worker's job looks alive until its lease ends
    second = workers.start("--lease", "2", "--exit-when-idle")
    assert second.wait(60) == 0, workers.log(1)
    job = queue.get(victim)
    assert job.status == "done" and job.attempts == 2 and job.result["pid"] == second.pid
    assert [row.name for row in rows(queue)] == ["job-0000"]
    assert "requeued 1 job(s) whose worker stopped heartbeating" in workers.log(1)


def test_a_failing_job_is_retried_then_failed_with_its_error_shown(
    queue: JobQueue, workers: Workers, db_url: str, capsys: pytest.CaptureFixture
):
    job_id = queue.enqueue("test.fail", {"case": "fault"}, max_attempts=3)
    proc = workers.start("--exit-when-idle", "--retry-backoff", "0.1")
    assert proc.wait(60) == 0, workers.log(0)
    log = workers.log(0)
    assert log.count(f"job {job_id} test.fail error (ValueError: boom on attempt") == 2
    assert f"job {job_id} test.fail failed (ValueError: boom on attempt 3) after" in log
    assert main(["--db", db_url, "--blobs", workers.blob_dir, "jobs", "show", str(job_id)]) == 0
    shown = capsys.readouterr().out
    assert "failed" in shown and "attempts:   3/3" in shown
    assert "Traceback (most recent call last)" in shown and "ValueError: boom on attempt 3" in shown


@pytest.mark.parametrize("dialect", ["sqlite"])
def test_sigterm_gives_the_running_job_back_and_exits(queue: JobQueue, workers: Workers):
    [long_job] = sleep_jobs(queue, 1, seconds=60)
    proc = workers.start()
    wait_until(lambda: queue.get(long_job).status == "running", message="the job to start")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 0, workers.log(0)
    job = queue.get(long_job)
    assert job.status == "queued" and job.attempts == 0 and rows(queue) == []
    assert f"job {long_job} test.sleep released after" in workers.log(0)


# -- a PostgreSQL restart --------------------------------------------------------------


class PrivateServer:
    """A throwaway PostgreSQL cluster of our own, so restarting it disturbs no one else
    using the shared test server."""

    def __init__(self, bindir: str, datadir: str, port: int):
        self.bindir, self.datadir, self.port = bindir, datadir, port
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _ctl(self, *args: str) -> None:
        subprocess.run([*self.as_owner, f"{self.bindir}/pg_ctl", "-D", self.datadir, "-w", *args],
                       check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        subprocess.run([*self.as_owner, f"{self.bindir}/initdb", "-D", self.datadir, "-A", "trust",
                        "-U", "postgres", "--no-sync", "-E", "UTF8"],
                       check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.datadir} -c fsync=off"
        self._ctl("-o", options, "-l", f"{self.datadir}/server.log", "start")

    def stop(self) -> None:
        self._ctl("-m", "fast", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def private_postgres() -> Iterator[PrivateServer]:
    bindirs = sorted(glob("/usr/lib/postgresql/*/bin"))
    if not bindirs or (os.geteuid() == 0 and not shutil.which("runuser")):
        unavailable("no PostgreSQL server binaries (initdb, pg_ctl) to run a private server")
    datadir = tempfile.mkdtemp(prefix="atlas-pg-")
    if os.geteuid() == 0:
        shutil.chown(datadir, "postgres")
    server = PrivateServer(bindirs[-1], datadir, _free_port())
    server.init()
    server.start()
    try:
        yield server
    finally:
        subprocess.run([*server.as_owner, f"{server.bindir}/pg_ctl", "-D", datadir, "-m", "immediate",
                        "stop"], capture_output=True)
        shutil.rmtree(datadir, ignore_errors=True)


def test_workers_ride_out_a_postgres_restart(private_postgres: PrivateServer, blob_dir: str,
                                             tmp_path: Path):
    admin = create_engine(private_postgres.url().replace("postgresql:", "postgresql+psycopg:"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE atlas"))
    admin.dispose()
    url = private_postgres.url("atlas")
    migrate.upgrade(url)
    catalog = Catalog.open(url, blob_dir, user="alice")
    catalog.add_user("alice", "admin")
    queue = JobQueue(catalog.engine)
    workers = Workers(url, blob_dir, tmp_path)
    try:
        ids = sleep_jobs(queue, 40, seconds=0.2)
        workers.start("--exit-when-idle", "--lease", "15")
        workers.start("--exit-when-idle", "--lease", "15")
        wait_until(lambda: queue.counts().get("done", 0) >= 6, message="the first jobs")
        private_postgres.stop()
        # A worker started during the outage waits for the database instead of exiting.
        workers.start("--exit-when-idle", "--lease", "15", "--wait-for-db", "60")
        wait_until(lambda: "waiting for the database" in workers.log(2), message="the late worker to wait")
        private_postgres.start()
        assert workers.wait(90) == [0, 0, 0], workers.logs()[-3000:]
        assert "database unavailable" in workers.logs()
        assert " started: kinds " in workers.log(2)
        assert_each_done_once(queue, ids, workers.logs())
    finally:
        workers.kill_all()
        catalog.close()
