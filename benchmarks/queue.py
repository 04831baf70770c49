"""Benchmark of the job queue: how many jobs a second it can hand out, and what it costs a
real compute job.

1. Claim-and-complete throughput of no-op jobs: 4 worker processes on PostgreSQL (target
   >= 500 jobs/s) and 1 worker on SQLite. Each no-op job is a full cycle: claim (one write
   transaction), heartbeat thread, complete (one write transaction).
2. Queue overhead on real visualization jobs: the channel visualizations of a demo layer,
   rendered and stored by calling ``visualize_units`` chunk by chunk, against the same
   chunks as ``vis`` jobs through enqueue -> worker -> complete (~1.5 s a job). Target < 2%.

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
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from atlas import Catalog  # noqa: E402
from atlas.db import migrate  # noqa: E402
from atlas.db.engine import normalize_url  # noqa: E402
from atlas.jobs import JobQueue, JobSpec  # noqa: E402
from atlas.jobs.runtime import JobContext, JobOutput, Worker, WorkerConfig, register_kind  # noqa: E402

THROUGHPUT_TARGET = 500.0  # jobs/s, 4 workers on PostgreSQL
OVERHEAD_TARGET = 0.02


def noop(ctx: JobContext) -> JobOutput:
    return JobOutput(result={})


def timed_vis(ctx: JobContext) -> JobOutput:
    """The real ``vis`` job kind, timed from the inside: what the queue adds is the rest."""
    from atlas.compute.optvis.jobs import render_chunk

    start = time.perf_counter()
    output = render_chunk(ctx)
    return JobOutput(result={**(output.result or {}), "seconds": time.perf_counter() - start}, write=output.write)


register_kind("bench.noop", noop)
register_kind("bench.vis", timed_vis)


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


def _worker_process(url: str, blobs: str, ready, go, cpu) -> None:
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

VIS_LAYER, VIS_CHUNK = "conv3", 8  # demo model: 48 units, 6 jobs of 8


def _render_knobs(steps: int) -> dict:
    return {"size": 64, "steps": steps}


def calibrate_steps(catalog: Catalog, seconds: float) -> int:
    """Optimization steps for a vis job of ``seconds`` (one chunk of units) on this machine
    when idle: the fastest of several timings, since other load only ever slows a step."""
    from atlas.compute.optvis.jobs import render_params
    from atlas.compute.optvis.store import visualize_units
    from atlas.compute.registration import load_registered

    model = load_registered(catalog, "demo", "cpu")
    params = render_params(_render_knobs(10))
    units = list(range(VIS_CHUNK))
    visualize_units(catalog, model, "demo", VIS_LAYER, units, ["channel"], params, force=True, device="cpu")
    per_step = []
    for _ in range(3):
        start = time.perf_counter()
        visualize_units(catalog, model, "demo", VIS_LAYER, units, ["channel"], params, force=True, device="cpu")
        per_step.append((time.perf_counter() - start) / 10)
    return max(10, round(seconds / min(per_step)))


def overhead(catalog: Catalog, steps: int, rounds: int) -> tuple[float, float, float]:
    """Rendering and storing the channel visualizations of a demo layer by calling
    ``visualize_units`` chunk by chunk, against the same chunks as ``vis`` jobs run by a
    worker. Returns (seconds direct, seconds through the queue: each the fastest of
    ``rounds`` alternating rounds, and the queue's share: the median over rounds of the
    worker's wall time, start and exit included, beyond the jobs' own time measured inside
    them). The share is the steadier figure: on a shared machine two renders of the same
    images differ by a few percent, more than the queue's cost."""
    from atlas.compute.optvis.jobs import render_params
    from atlas.compute.optvis.store import visualize_units
    from atlas.compute.registration import load_registered
    from atlas.jobs.runtime import enqueue_layer_chunks

    units = list(range(catalog.layer(f"demo/{VIS_LAYER}").channels))
    params = render_params(_render_knobs(steps))
    direct, queued, shares = [], [], []
    for round_ in range(rounds):
        start = time.perf_counter()
        model = load_registered(catalog, "demo", "cpu")
        for first in range(0, len(units), VIS_CHUNK):
            visualize_units(catalog, model, "demo", VIS_LAYER, units[first:first + VIS_CHUNK], ["channel"],
                            params, force=True, device="cpu")
        direct.append(time.perf_counter() - start)
        ids = enqueue_layer_chunks(catalog, "bench.vis", "demo", VIS_LAYER, units, VIS_CHUNK, {
            "kinds": ["channel"], "render": _render_knobs(steps), "force": True, "round": round_})
        start = time.perf_counter()
        Worker(catalog, WorkerConfig(kinds=["bench.vis"], device="cpu", exit_when_idle=True)).run()
        queued.append(time.perf_counter() - start)
        jobs = JobQueue(catalog.engine).get_many(ids)
        assert all(job.status == "done" and job.result["rendered"] == VIS_CHUNK for job in jobs)
        shares.append(queued[-1] / sum(job.result["seconds"] for job in jobs) - 1)
    return min(direct), min(queued), sorted(shares)[len(shares) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=4000, help="no-op jobs per throughput run")
    parser.add_argument("--repeats", type=int, default=5, help="rounds of the overhead comparison")
    parser.add_argument("--seconds", type=float, default=1.5, help="length of one visualization job")
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

    from atlas.compute.demo_atlas import register_demo_models
    from atlas.jobs.runtime import import_kind_modules

    import_kind_modules()
    torch.set_num_threads(1)  # steadier timings on a shared machine; the queue is the same
    for dialect in ("sqlite", "postgresql"):
        with scratch_database(dialect) as url:
            if url is None:
                print(f"\n2. {dialect}: skipped")
                continue
            catalog = Catalog.init(url, blobs, "bench")
            register_demo_models(catalog)
            steps = calibrate_steps(catalog, args.seconds)
            print(f"\n2. queue overhead, {dialect}: channel visualizations of demo/{VIS_LAYER} (6 vis jobs "
                  f"of {VIS_CHUNK} units, {steps} steps at 64 px, about {args.seconds:g} s a job), "
                  f"{args.repeats} rounds")
            direct, queued, share = overhead(catalog, steps, args.repeats)
            print(f"  direct (visualize_units chunk by chunk) {direct:.2f}s, through the queue {queued:.2f}s: "
                  f"ratio {queued / direct:.3f} (noisy: renders alone vary by a few %)")
            print(f"  the queue's time beyond the jobs' own: {100 * share:+.2f}% (claims, heartbeats, progress, "
                  f"completion with the artifact rows, worker start and exit; target < {100 * OVERHEAD_TARGET:.0f}%)")
            catalog.close()


if __name__ == "__main__":
    main()
