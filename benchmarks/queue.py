"""Benchmark of the job queue: how many jobs a second it can hand out, and what it costs a
real compute job.

1. Claim-and-complete throughput of no-op jobs: 4 worker processes on PostgreSQL (target
   >= 500 jobs/s) and 1 worker on SQLite. Each no-op job is a full cycle: claim (one write
   transaction), heartbeat thread, complete (one write transaction).
2. Queue overhead on a CPU-heavy torch job of ~1.5 s: a small feature visualization
   (Adam on an input image to excite one channel of a random conv net, with a progress
   report every step), run directly and through enqueue -> worker -> complete. The real
   visualization job kind is another issue's; this stands in for it. Target < 2%.

PostgreSQL: $ATLAS_BENCH_POSTGRES_URL or $ATLAS_TEST_POSTGRES_URL (a server where we may
create a scratch database); without either, the PostgreSQL parts are skipped.

    python -m benchmarks.queue [--jobs 4000] [--repeats 5] [--seconds 1.5]
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file shares its name with the standard library's `queue` module, which threading,
# SQLAlchemy's pool and multiprocessing import: take its folder off the import path.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

import argparse  # noqa: E402
import multiprocessing  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from atlas import Catalog  # noqa: E402
from atlas.db import migrate  # noqa: E402
from atlas.db.engine import normalize_url  # noqa: E402
from atlas.jobs import JobContext, JobOutput, JobQueue, JobSpec, Worker, WorkerConfig, register_kind  # noqa: E402

THROUGHPUT_TARGET = 500.0  # jobs/s, 4 workers on PostgreSQL
OVERHEAD_TARGET = 0.02


def noop(ctx: JobContext) -> JobOutput:
    return JobOutput(result={})


def visualize(progress: Callable[[int, int, str], None], steps: int) -> float:
    """A small feature visualization: optimize an image to excite channel 3 of conv3."""
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 16, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 32, 3, padding=1),
    )
    image = torch.randn(1, 3, 64, 64, requires_grad=True)
    optimizer = torch.optim.Adam([image], lr=0.05)
    for step in range(steps):
        optimizer.zero_grad()
        loss = -net(image)[0, 3].mean()
        loss.backward()
        optimizer.step()
        progress(step + 1, steps, "optimizing")
    return float(loss.detach())


def vis_job(ctx: JobContext) -> JobOutput:
    start = time.perf_counter()
    loss = visualize(ctx.progress, ctx.params["steps"])
    return JobOutput(result={"loss": loss, "seconds": time.perf_counter() - start})


register_kind("bench.noop", noop)
register_kind("bench.vis", vis_job)


# -- databases -----------------------------------------------------------------------


@contextmanager
def scratch_database(dialect: str) -> Iterator[str | None]:
    """A migrated, empty catalogue database, dropped afterwards (None: not available)."""
    if dialect == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/bench.db"
            migrate.upgrade(url)
            yield url
        return
    server = os.environ.get("ATLAS_BENCH_POSTGRES_URL") or os.environ.get("ATLAS_TEST_POSTGRES_URL")
    if not server:
        yield None
        return
    admin = create_engine(normalize_url(server), isolation_level="AUTOCOMMIT")
    name = f"atlas_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = make_url(normalize_url(server)).set(database=name).render_as_string(hide_password=False)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def _catalog(url: str, blobs: str) -> Catalog:
    return Catalog.open(url, blobs, user="bench")


# -- 1. throughput -------------------------------------------------------------------

NOOP_CONFIG = WorkerConfig(kinds=["bench.noop"], device="cpu", poll_seconds=0.01, exit_when_idle=True)


def _worker_process(url: str, blobs: str, ready, go, cpu) -> None:  # noqa: ANN001
    catalog = _catalog(url, blobs)
    worker = Worker(catalog, NOOP_CONFIG)
    JobQueue(catalog.engine).counts()  # connect before the clock starts
    ready.release()
    go.wait()
    start = time.process_time()
    worker.run()
    cpu.put(time.process_time() - start)
    catalog.close()


def throughput(url: str, blobs: str, jobs: int, workers: int) -> tuple[float, float]:
    """(jobs per second, worker CPU milliseconds per job) of ``workers`` worker processes
    draining ``jobs`` no-op jobs. CPU time is what a loaded machine distorts least: it
    says how many jobs a second the workers could sustain on idle cores."""
    catalog = _catalog(url, blobs)
    JobQueue(catalog.engine).enqueue_many(JobSpec("bench.noop") for _ in range(jobs))
    if workers == 1:
        worker = Worker(catalog, NOOP_CONFIG)
        start, cpu = time.perf_counter(), time.process_time()
        worker.run()
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    else:
        context = multiprocessing.get_context("fork")
        ready, go, cpus = context.Semaphore(0), context.Event(), context.Queue()
        procs = [context.Process(target=_worker_process, args=(url, blobs, ready, go, cpus))
                 for _ in range(workers)]
        for proc in procs:
            proc.start()
        for _ in procs:
            ready.acquire()
        start = time.perf_counter()
        go.set()
        cpu = sum(cpus.get() for _ in procs)
        for proc in procs:
            proc.join()
        elapsed = time.perf_counter() - start
    counts = JobQueue(catalog.engine).counts()
    catalog.close()
    assert counts == {"done": jobs}, counts
    return jobs / elapsed, 1000 * cpu / jobs


# -- 2. overhead ---------------------------------------------------------------------


def calibrate_steps(seconds: float) -> int:
    """Steps for a job of ``seconds`` on this machine when idle: the fastest of several
    timings, since other load only ever slows a step down."""
    visualize(lambda *a: None, 5)  # warm up torch
    per_step = []
    for _ in range(3):
        start = time.perf_counter()
        visualize(lambda *a: None, 20)
        per_step.append((time.perf_counter() - start) / 20)
    return max(10, round(seconds / min(per_step)))


def overhead(url: str, blobs: str, steps: int, repeats: int) -> tuple[float, float, float, float]:
    """For ``repeats`` visualization jobs: (seconds direct, seconds through the queue, and
    the queue's time relative to the jobs' own time in the same run, from the first
    claim to the last completion, and including starting and stopping the worker)."""
    start = time.perf_counter()
    for _ in range(repeats):
        visualize(lambda *a: None, steps)
    direct = time.perf_counter() - start
    catalog = _catalog(url, blobs)
    queue = JobQueue(catalog.engine)
    ids = queue.enqueue_many(JobSpec("bench.vis", {"steps": steps}) for _ in range(repeats))
    start = time.perf_counter()
    Worker(catalog, WorkerConfig(kinds=["bench.vis"], device="cpu", exit_when_idle=True)).run()
    queued = time.perf_counter() - start
    jobs = queue.get_many(ids)
    catalog.close()
    assert all(job.status == "done" for job in jobs)
    own = sum(job.result["seconds"] for job in jobs)
    span = (max(job.finished_at for job in jobs) - min(job.started_at for job in jobs)).total_seconds()
    return direct, queued, span / own - 1, queued / own - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=4000, help="no-op jobs per throughput run")
    parser.add_argument("--repeats", type=int, default=5, help="visualization jobs per run")
    parser.add_argument("--seconds", type=float, default=1.5, help="length of the visualization job")
    args = parser.parse_args()
    blobs = tempfile.mkdtemp(prefix="atlas-bench-blobs-")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (timings "
          "are wall-clock: a loaded machine slows everything)")

    print("\n1. claim-and-complete throughput of no-op jobs")
    for dialect, workers in (("postgresql", 4), ("sqlite", 1)):
        with scratch_database(dialect) as url:
            if url is None:
                print(f"  {dialect}: skipped (set ATLAS_BENCH_POSTGRES_URL or ATLAS_TEST_POSTGRES_URL)")
                continue
            rate, cpu_ms = throughput(url, blobs, args.jobs, workers)
            target = f"; ratio to the 500 jobs/s target: {rate / THROUGHPUT_TARGET:.2f}" if workers == 4 else ""
            print(f"  {dialect}, {workers} worker(s), {args.jobs} jobs: {rate:,.0f} jobs/s{target} "
                  f"(worker CPU {cpu_ms:.2f} ms/job{', database server not counted' if workers > 1 else ''})")

    import torch

    torch.set_num_threads(1)  # steadier timings on a shared machine; the queue is the same
    steps = calibrate_steps(args.seconds)
    print(f"\n2. queue overhead on {args.repeats} CPU feature-visualization jobs of {steps} Adam "
          f"steps each (a stand-in for the vis job kind)")
    for dialect in ("sqlite", "postgresql"):
        with scratch_database(dialect) as url:
            if url is None:
                print(f"  {dialect}: skipped")
                continue
            direct, queued, per_job, with_worker = overhead(url, blobs, steps, args.repeats)
            print(f"  {dialect}: direct {direct:.2f}s, through the queue {queued:.2f}s "
                  f"(ratio {queued / direct:.3f}, noisy on a loaded machine)")
            print(f"    queue time around the jobs in the same run: {100 * per_job:+.2f}% from first "
                  f"claim to last completion, {100 * with_worker:+.2f}% with the worker's start "
                  f"and exit (target < {100 * OVERHEAD_TARGET:.0f}%)")

if __name__ == "__main__":
    main()
