"""The Ray executor (`atlas compute … --executor ray`, ``atlas.compute.ray_executor``) on a
local Ray instance on the CPU, on SQLite and PostgreSQL: a layer's visualization chunks as
Ray tasks store what `atlas worker` stores, and a Ray worker process killed mid-job
leaves every job done exactly once (the database checks it: each ``test.sleep`` job adds
one uniquely named ``datasets`` row in its completion, tests/jobkinds_for_tests.py).

One Ray instance serves the module (it takes seconds to start); its worker processes
find the atlas and the test job kinds through PYTHONPATH, set before it starts.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from atlas import Catalog
from atlas.cli import main
from atlas.compute.ray_executor import MISSING_RAY, catalog_address, ray_tasks
from atlas.compute.registration import register_model
from atlas.db.models import Dataset
from atlas.jobs import JobSpec
from tests.availability import unavailable
from tests.waiting import wait_until

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
VIS = ["compute", "vis", "--model", "demo", "--layer", "conv1", "--chunk-size", "8", "--size", "16",
       "--steps", "4", "--device", "cpu"]


@pytest.fixture(scope="module")
def local_ray() -> Iterator[object]:
    try:
        import ray
    except ImportError:
        unavailable(f"ray is not installed ({MISSING_RAY})")
    previous = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), str(TESTS), previous]))
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=100 * 2**20, logging_level="WARNING")
    yield ray
    ray.shutdown()
    if previous is None:
        os.environ.pop("PYTHONPATH")
    else:
        os.environ["PYTHONPATH"] = previous


def _cli(db_url: str, blobs: str, *command: str) -> list[str]:
    return ["--db", db_url, "--blobs", blobs, "--user", "alice", *command]


def _pid(worker_id: str) -> int:
    """The process of a worker id, ``host:pid:tag``."""
    return int(worker_id.split(":")[1])


@pytest.mark.slow
def test_a_layers_vis_chunks_as_ray_tasks_store_what_atlas_worker_stores(
    local_ray, catalog, db_url, blob_dir, other_db_url, tmp_path, capsys,
):
    register_model(catalog, "demo", "demo")
    assert main(_cli(db_url, blob_dir, *VIS, "--executor", "ray")) == 0
    assert "2 vis jobs" in capsys.readouterr().out

    other_blobs = str(tmp_path / "other-blobs")
    other = Catalog.open(other_db_url, other_blobs, user="alice")
    other.add_user("alice", "admin")
    register_model(other, "demo", "demo")
    assert main(_cli(other_db_url, other_blobs, *VIS, "--no-wait")) == 0
    subprocess.run([sys.executable, "-m", "atlas.cli", *_cli(other_db_url, other_blobs, "worker"), "--device", "cpu",
                    "--exit-when-idle", "--poll", "0.1"],
                   env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True, timeout=300, capture_output=True)

    for name, cat in (("ray", catalog), ("worker", other)):
        jobs = cat.jobs(kind="vis")
        assert [(job.status, job.attempts) for job in jobs] == [("done", 1)] * 2, name
        assert all(_pid(job.lease_owner) != os.getpid() for job in jobs), f"{name}: ran in this process"
    for unit in range(catalog.layer("demo/conv1").channels):
        ours, theirs = (cat.artifacts(f"demo/conv1/{unit}", "vis.channel") for cat in (catalog, other))
        assert len(ours) == len(theirs) == 1
        assert ours[0].blobs == theirs[0].blobs, f"unit {unit}: the Ray task rendered another image"
        assert catalog.blobs.get_bytes(ours[0].blobs["image"]) == other.blobs.get_bytes(theirs[0].blobs["image"])
    other.close()


@pytest.mark.slow
def test_a_ray_worker_killed_mid_job_leaves_every_job_done_once(local_ray, catalog):
    """Two 3-second jobs and a third waiting for both. The Ray worker process running the
    first job is SIGKILLed mid-job: Ray retries its task, which waits out the dead
    attempt's 2-second lease, takes the job over and completes it. The waiting job's task
    starts after both (it is submitted with their tasks as arguments)."""
    queue = catalog.job_queue
    chunks = queue.enqueue_many(JobSpec("test.sleep", {"name": f"chunk-{i}", "seconds": 3}) for i in range(2))
    final = queue.enqueue_many([JobSpec("test.sleep", {"name": "final", "seconds": 0}, after=tuple(chunks))])
    ids = chunks + final

    def mid_job() -> object:
        job = catalog.job(chunks[0])
        return job.status == "running" and job.progress_done >= 1 and job

    with ray_tasks(catalog, ids, ["test.sleep"], "cpu", imports=["jobkinds_for_tests"], lease_seconds=2,
                   poll_seconds=0.1) as tasks:
        wait_until(mid_job, timeout=90, message="the first job to be running")
        victim = catalog.job(chunks[0])
        os.kill(_pid(victim.lease_owner), signal.SIGKILL)

        def all_finished() -> bool:
            tasks.check()  # a task failed for good raises here
            return all(job.finished for job in catalog.jobs_by_id(ids))

        wait_until(all_finished, timeout=120, message="every job to finish")

    jobs = {job.id: job for job in catalog.jobs_by_id(ids)}
    assert [jobs[i].status for i in ids] == ["done"] * 3
    taken_over = jobs[chunks[0]]
    assert taken_over.attempts == 2 and taken_over.lease_owner != victim.lease_owner
    assert taken_over.result["pid"] != _pid(victim.lease_owner)
    assert [jobs[i].attempts for i in ids[1:]] == [1, 1]
    assert jobs[final[0]].started_at >= max(jobs[i].finished_at for i in chunks)
    with Session(catalog.engine) as session:
        names = sorted(session.scalars(select(Dataset.name)))
    assert names == ["chunk-0", "chunk-1", "final"]  # each stored once (the name is unique, too)


def test_a_missing_ray_is_one_line_and_queues_nothing(catalog, db_url, blob_dir, monkeypatch, capsys):
    register_model(catalog, "demo", "demo")
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails, as without the extra
    assert main(_cli(db_url, blob_dir, *VIS, "--executor", "ray")) == 1
    assert capsys.readouterr().err == f"atlas: error: {MISSING_RAY}\n"
    assert catalog.jobs() == []


def test_ray_options_that_contradict_each_other_are_refused_before_anything_is_queued(
    catalog, db_url, blob_dir, capsys,
):
    register_model(catalog, "demo", "demo")
    assert main(_cli(db_url, blob_dir, *VIS, "--ray-address", "auto")) == 1
    assert capsys.readouterr().err == "atlas: error: --ray-address goes with --executor ray\n"
    with pytest.raises(SystemExit):
        main(_cli(db_url, blob_dir, *VIS, "--executor", "ray", "--wait"))
    assert "not allowed with argument --executor" in capsys.readouterr().err
    assert catalog.jobs() == []


def test_ray_tasks_open_the_catalogue_by_absolute_paths(catalog, db_url, blob_dir, tmp_path, monkeypatch):
    """A task's working directory is not the command's: a relative SQLite file and blob
    folder travel as absolute paths; a server URL travels as it is."""
    address = catalog_address(catalog)
    assert (address.database, address.blobs, address.user) == (db_url, str(Path(blob_dir).resolve()), "alice")
    monkeypatch.chdir(tmp_path)
    relative = Catalog.init("sqlite:///relative.db", "relative-blobs", admin="alice")
    address = catalog_address(relative)
    assert address.database == f"sqlite:///{tmp_path / 'relative.db'}"
    assert address.blobs == str(tmp_path / "relative-blobs")
    with address.open() as reopened:
        assert [user.name for user in reopened.users()] == ["alice"]
    relative.close()


def test_a_malformed_ray_address_is_one_line(catalog, db_url, blob_dir):
    """In a process of its own: this module's Ray instance is already connected here. The
    jobs were queued before Ray was asked (they stay queued, as with --no-wait)."""
    register_model(catalog, "demo", "demo")
    result = subprocess.run([sys.executable, "-m", "atlas.cli", *_cli(db_url, blob_dir, *VIS), "--executor", "ray",
                             "--ray-address", "not an address"],
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120)
    if "install the ray extra" in result.stderr:
        unavailable(f"ray is not installed ({MISSING_RAY})")
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("atlas: error:")]
    assert errors == ["atlas: error: cannot start or reach Ray at not an address: Invalid address format: "
                      "not an address"], result.stderr
    assert "Traceback" not in result.stderr
    assert [job.status for job in catalog.jobs()] == ["queued", "queued"]
