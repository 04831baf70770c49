"""Compute and its queue under hostile users and input (issue 13, items 3, 7 and 9).

Every enqueue goes through the catalogue (role checked, audited); workers act as their
user and on the catalogue's own blob store; job parameters are checked when queued. Each
refusal is one line, exit 1, and leaves the catalogue and its blob store as they were.
"""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from sqlalchemy import delete, select
from tiny_models import tiny

from atlas import Catalog
from atlas.catalog import artifacts
from atlas.catalog.artifacts import NewArtifact
from atlas.catalog.edge_store import EdgeColumns, NewEdge
from atlas.catalog.resolve import unit_ids
from atlas.cli import main
from atlas.compute.registration import register_model
from atlas.db import migrate
from atlas.db.models import Artifact, Setting
from atlas.db.store_identity import ID_FILE, ID_SETTING, StoreMismatch
from atlas.errors import InvalidInput, NotFound, PermissionDenied
from atlas.jobs import JobQueue
from atlas.jobs.runtime import JobOutput, Worker, WorkerConfig, register_kind
from tests.snapshots import state

FAST = dict(lease_seconds=3.0, poll_seconds=0.05, retry_backoff_seconds=0.05, exit_when_idle=True)


def atlas(capsys: pytest.CaptureFixture, db_url: str, blob_dir: str, user: str, *args: str) -> tuple[int, str, str]:
    code = main(["--db", db_url, "--blobs", blob_dir, "--user", user, *args])
    out, err = capsys.readouterr()
    return code, out, err


def refused(code: int, err: str, *words: str) -> None:
    """Exit 1 with one ``atlas: error:`` line that says what is wrong."""
    assert code == 1, err
    assert err.startswith("atlas: error: ") and err.count("\n") == 1, err
    for word in words:
        assert word in err, err


@pytest.fixture
def registered(catalog: Catalog, tmp_path: Path, allow_test_factories: str) -> Catalog:
    """The catalogue with ``tiny`` (layers 1 and 3 are spatial) and its weights."""
    torch.manual_seed(0)
    path = tmp_path / "tiny.pt"
    torch.save(tiny().state_dict(), path)
    register_model(catalog, "tiny", "tiny_models:tiny", path)
    return catalog


# -- item 3: roles and the audit log -------------------------------------------------------


@pytest.mark.parametrize("user, why", [("vic", "is a viewer"), ("nobody", "unknown user 'nobody'")])
@pytest.mark.parametrize("command", [["vis", "--layer", "conv3"], ["connections", "--pair", "conv2:conv3"],
                                     ["examples", "--layer", "conv3", "--dataset", "synthetic:8"]])
def test_a_viewer_or_unknown_user_cannot_queue_compute(demo_catalog: Catalog, db_url, blob_dir, capsys,
                                                       user: str, why: str, command: list[str]):
    before = state(demo_catalog)
    code, _, err = atlas(capsys, db_url, blob_dir, user, "compute", command[0], "--model", "demo",
                         *command[1:], "--no-wait")
    refused(code, err, why)
    assert state(demo_catalog) == before


def test_a_curators_compute_is_queued_through_the_catalogue_and_audited(demo_catalog: Catalog, db_url,
                                                                        blob_dir, capsys):
    code, out, _ = atlas(capsys, db_url, blob_dir, "carl", "compute", "vis", "--model", "demo", "--layer",
                         "conv3", "--chunk-size", "16", "--no-wait")
    assert code == 0 and "2 vis jobs" in out
    code, _, _ = atlas(capsys, db_url, blob_dir, "carl", "compute", "expanded", "--model", "demo", "--pair",
                       "conv2:conv3", "--no-wait")
    assert code == 0
    entries = [e for e in demo_catalog.audit_log(limit=10) if e.action == "jobs.enqueue"]
    assert [(e.user, e.entity_id) for e in entries] == [("carl", "demo/conv3"), ("carl", "demo/conv3")]
    assert entries[0].after["kind"] == "connections.expanded" and len(entries[1].after["jobs"]) == 2


def test_computed_writes_need_a_curator(demo_catalog: Catalog, db_url, blob_dir):
    sha = demo_catalog.blobs.put_bytes(b"a kernel")
    before = state(demo_catalog)
    with Catalog.open(db_url, blob_dir, user="vic") as viewer:
        with pytest.raises(PermissionDenied, match="viewer"):
            viewer.add_artifact("demo/conv2/3", "vis.channel", {"steps": 1}, {"image": sha})
        with pytest.raises(PermissionDenied, match="viewer"):
            viewer.add_edges([NewEdge("demo/conv1/1", "demo/conv2/3", "direct", 1.5)])
        with viewer._reading() as session:
            src, dst = unit_ids(session, "demo/conv1"), unit_ids(session, "demo/conv2")
        columns = EdgeColumns(src=src[:2], dst=dst[:2], kind="direct", strength=np.ones(2),
                              positive_mass=np.ones(2), negative_mass=np.zeros(2), rank_in=np.arange(2),
                              rank_out=np.arange(2), kernel_sha256=None)
        with pytest.raises(PermissionDenied, match="viewer"):
            viewer.load_edges(columns)
    assert state(demo_catalog) == before
    assert demo_catalog.add_artifact("demo/conv2/3", "vis.channel", {"steps": 1}, {"image": sha})
    assert demo_catalog.audit_log("demo/conv2/3", limit=1)[0].action == "artifact.add"


@pytest.mark.parametrize("user, why", [("vic", "is a viewer"), ("nobody", "unknown user 'nobody'")])
def test_a_worker_acts_as_its_user_who_must_be_a_curator(catalog: Catalog, db_url, blob_dir, capsys,
                                                          user: str, why: str):
    JobQueue(catalog.engine).enqueue("test.noop")
    before = state(catalog)
    code, _, err = atlas(capsys, db_url, blob_dir, user, "worker", "--device", "cpu", "--import",
                         "jobkinds_for_tests", "--exit-when-idle", "--wait-for-db", "0")
    refused(code, err, why)
    assert state(catalog) == before
    with Catalog.open(db_url, blob_dir, user="vic") as viewer, \
            pytest.raises(PermissionDenied, match="cannot run compute jobs"):
        Worker(viewer, WorkerConfig(**FAST))


def test_a_completed_job_that_wrote_results_is_audited_once(catalog: Catalog):
    import jobkinds_for_tests  # noqa: F401 - test.sleep and test.noop

    queue = JobQueue(catalog.engine)
    wrote = queue.enqueue("test.sleep", {"name": "s1", "seconds": 0})
    quiet = queue.enqueue("test.noop")
    Worker(catalog, WorkerConfig(kinds=["test.sleep", "test.noop"], **FAST)).run()
    assert queue.get(wrote).status == queue.get(quiet).status == "done"
    done = [e for e in catalog.audit_log(limit=20) if e.action == "jobs.complete"]
    assert [(e.user, e.entity_type, e.entity_id) for e in done] == [("alice", "job", str(wrote))]
    assert done[0].after["result"]["name"] == "s1"


def test_reindex_needs_an_admin_and_is_audited(catalog: Catalog, db_url, blob_dir, capsys):
    before = state(catalog)
    for user in ("vic", "carl"):
        code, _, err = atlas(capsys, db_url, blob_dir, user, "db", "reindex")
        refused(code, err, "cannot reindex", "needs admin")
    assert state(catalog) == before
    code, out, _ = atlas(capsys, db_url, blob_dir, "alice", "db", "reindex")
    assert code == 0 and "reindexed" in out
    assert catalog.audit_log(limit=1)[0].action == "db.reindex"


def test_downgrade_needs_an_admin_and_yes(catalog: Catalog, db_url, blob_dir, capsys):
    before = state(catalog)
    code, _, err = atlas(capsys, db_url, blob_dir, "vic", "db", "downgrade", "base", "--yes")
    refused(code, err, "is a viewer", "cannot downgrade")
    code, _, err = atlas(capsys, db_url, blob_dir, "nobody", "db", "downgrade", "base", "--yes")
    refused(code, err, "unknown user 'nobody'")
    code, _, err = atlas(capsys, db_url, blob_dir, "alice", "db", "downgrade", "base")
    refused(code, err, "would undo", "0004 (trust", "0001 (initial schema)", "every table", "--yes")
    code, _, err = atlas(capsys, db_url, blob_dir, "alice", "db", "downgrade", "nosuchrev", "--yes")
    refused(code, err, "nosuchrev")
    assert state(catalog) == before
    catalog.engine.dispose()
    code, out, _ = atlas(capsys, db_url, blob_dir, "alice", "db", "downgrade", "base", "--yes")
    assert code == 0 and "database at base" in out
    assert migrate.current_revision(catalog.engine) is None


# -- item 7: one blob store per catalogue --------------------------------------------------


def test_a_catalogue_and_its_store_share_an_id(catalog: Catalog, blob_dir):
    with catalog._reading() as session:
        ours = session.get(Setting, ID_SETTING).value
    assert (Path(blob_dir) / ID_FILE).read_text().strip() == ours


def test_a_worker_on_another_blob_store_refuses_to_start(catalog: Catalog, db_url, blob_dir, other_db_url,
                                                         tmp_path, capsys):
    JobQueue(catalog.engine).enqueue("test.noop")
    empty, others = str(tmp_path / "empty-store"), str(tmp_path / "other-store")
    Catalog.init(other_db_url, others, admin="olga").close()  # another lab's catalogue and store
    before = state(catalog)
    worker = ("worker", "--device", "cpu", "--import", "jobkinds_for_tests", "--exit-when-idle",
              "--wait-for-db", "0", "--poll", "0.05")
    code, _, err = atlas(capsys, db_url, empty, "alice", *worker)
    refused(code, err, f"blob store {empty} has no store id", f"use --blobs/ATLAS_BLOB_URL of {blob_dir}")
    code, _, err = atlas(capsys, db_url, others, "alice", *worker)
    refused(code, err, f"blob store {others} belongs to another catalogue", f"of {blob_dir}")
    assert state(catalog) == before
    assert atlas(capsys, db_url, blob_dir, "alice", *worker)[0] == 0  # the right store: runs the job
    assert JobQueue(catalog.engine).recent()[0].status == "done"


def test_catalogues_made_before_store_ids_get_one_on_first_open(db_url, other_db_url, tmp_path):
    old_store = str(tmp_path / "old-store")
    with Catalog.open(db_url, old_store) as first:  # neither has an id: both get the same new one
        with first._reading() as session:
            given = session.get(Setting, ID_SETTING).value
    assert (Path(old_store) / ID_FILE).read_text().strip() == given
    with pytest.raises(StoreMismatch, match="has no store id"):
        Catalog.open(db_url, str(tmp_path / "fresh-store"))
    # A store with an id is another catalogue's: open refuses it, init (a new catalogue) adopts it.
    with pytest.raises(StoreMismatch, match=f"belongs to another catalogue \\(id {given}\\)"):
        Catalog.open(other_db_url, old_store)
    with Catalog.init(other_db_url, old_store, admin="olga") as adopted:
        with adopted._reading() as session:
            assert session.get(Setting, ID_SETTING).value == given


def test_a_catalogue_made_before_store_ids_adopts_only_a_store_with_its_blobs(demo_catalog: Catalog, db_url,
                                                                             blob_dir, tmp_path):
    sha = demo_catalog.blobs.put_bytes(b"an image")
    demo_catalog.add_artifact("demo/conv3/1", "vis.channel", {}, {"image": sha})
    with demo_catalog.engine.begin() as conn:  # as it was before store ids
        conn.execute(delete(Setting))
    (Path(blob_dir) / ID_FILE).unlink()
    before = state(demo_catalog)
    default = tmp_path / "atlas-data" / "blobs"  # e.g. a command run without --blobs
    with pytest.raises(StoreMismatch, match=f"lacks this catalogue's blob {sha}"):
        Catalog.open(db_url, str(default))
    assert state(demo_catalog) == before and not (default / ID_FILE).exists()
    Catalog.open(db_url, blob_dir).close()
    assert (Path(blob_dir) / ID_FILE).exists()


def test_a_job_whose_blob_vanished_before_commit_fails_and_writes_nothing(demo_catalog: Catalog):
    def vanishing(ctx) -> JobOutput:
        sha = ctx.catalog.blobs.put_bytes(f"job {ctx.job_id}".encode())
        Path(ctx.catalog.blobs.path(sha)).unlink()

        def write(session) -> None:
            ids = unit_ids(session, "demo/conv3")
            artifacts.put_many(session, [NewArtifact(int(ids[0]), "vis.channel", {}, {"image": sha})], ctx.job_id)

        return JobOutput(result={"rendered": 1}, write=write, blobs=(sha,))

    register_kind("test.vanishing_blob", vanishing)
    queue = JobQueue(demo_catalog.engine)
    job_id = queue.enqueue("test.vanishing_blob", max_attempts=1)
    Worker(demo_catalog, WorkerConfig(kinds=["test.vanishing_blob"], **FAST)).run()
    job = queue.get(job_id)
    assert job.status == "failed" and "missing from the blob store" in job.error
    with demo_catalog._reading() as session:
        assert session.scalars(select(Artifact)).all() == []
    assert "jobs.complete" not in [e.action for e in demo_catalog.audit_log(limit=20)]


# -- item 9: parameters checked when queued ------------------------------------------------

VIS = ["vis", "--layer", "conv3"]
BAD_COMPUTE = {
    "negative size": ([*VIS, "--size", "-5"], "size must be"),
    "huge size": ([*VIS, "--size", "100000"], "size must be"),
    "negative steps": ([*VIS, "--steps", "-1"], "steps must be"),
    "NaN lr": ([*VIS, "--lr", "nan"], "lr must be a finite number"),
    "zero lr": ([*VIS, "--lr", "0"], "lr must be"),
    "huge seed": ([*VIS, "--seed", str(2**40)], "seed must be"),
    "unknown vis kind": ([*VIS, "--kinds", "channel,telepathy"], "visualization kinds"),
    "units beyond the layer": ([*VIS, "--units", "30-40"], "unit 40 is out of range (units 0 to 31)"),
    "a 26-digit unit": ([*VIS, "--units", "1" * 26], "out of range"),
    "huge chunk": ([*VIS, "--chunk-size", "100000"], "chunk size must be"),
    "negative synthetic": (["examples", "--layer", "conv3", "--dataset", "synthetic:-5"], "synthetic:N"),
    "absurd synthetic": (["examples", "--layer", "conv3", "--dataset", f"synthetic:{10**12}"], "synthetic:N"),
    "missing folder": (["examples", "--layer", "conv3", "--dataset", "folder:/no/such/folder"], "does not exist"),
    "package path": (["examples", "--layer", "conv3", "--dataset", "package:../../etc"], "top-level import name"),
    "dotted package": (["examples", "--layer", "conv3", "--dataset", "package:os.path"], "top-level import name"),
    "missing package": (["examples", "--layer", "conv3", "--dataset", "package:no_such_pkg_atlas"], "not installed"),
    "zero k": (["examples", "--layer", "conv3", "-k", "0"], "k must be"),
    "huge k": (["connections", "--pair", "conv2:conv3", "-k", "5000"], "k must be"),
    "zero connections chunk": (["connections", "--pair", "conv2:conv3", "--chunk-size", "0"], "chunk size"),
    "attribution on a file": (["attribution", "--pair", "conv2:conv3", "--dataset", f"folder:{__file__}"],
                              "is not a folder"),
}


@pytest.mark.parametrize("case", list(BAD_COMPUTE))
def test_bad_compute_parameters_are_refused_when_queued(demo_catalog: Catalog, db_url, blob_dir, capsys,
                                                        case: str):
    args, why = BAD_COMPUTE[case]
    before = state(demo_catalog)
    code, _, err = atlas(capsys, db_url, blob_dir, "carl", "compute", args[0], "--model", "demo", *args[1:],
                         "--no-wait")
    refused(code, err, why)
    assert state(demo_catalog) == before


def test_bad_parameters_through_the_python_api(demo_catalog: Catalog):
    before = state(demo_catalog)
    bad = [("telepathy", {}, "unknown job kind 'telepathy'"),
           ("vis", {"kinds": ["channel"], "render": {"lr": float("nan")}}, "lr must be"),
           ("vis", {"kinds": ["channel"], "render": {"steps": 10**9}}, "steps must be"),
           ("vis", {"kinds": ["channel"], "render": {"size": True}}, "size must be"),
           ("vis", {"kinds": ["channel"], "render": {"site": ["pre"]}}, "site must be one of pre, post"),
           ("vis", {"kinds": ["channel"], "shell": "rm -rf /"}, "unknown vis parameters"),
           ("examples", {"k": 3, "dataset": {"kind": "synthetic", "n": -5, "size": 64}}, "synthetic dataset size"),
           ("examples", {"k": 3, "dataset": {"kind": "url", "path": "http://x"}}, "unknown dataset kind"),
           ("examples", {"k": 3, "dataset": {"kind": "package", "package": ["skimage"], "size": 64}},
            "top-level import name"),
           ("examples", {"k": 3, "dataset": {"kind": "package", "package": "sys", "size": 64}},
            "not a package with one directory")]
    for kind, params, why in bad:
        with pytest.raises(InvalidInput, match=why):
            demo_catalog.enqueue_layer_compute(kind, "demo/conv3", 16, params)
    with pytest.raises(InvalidInput, match="outside demo/conv3"):
        demo_catalog.enqueue_layer_compute("vis", "demo/conv3", 16, {"kinds": ["channel"]}, units=[0, 32])
    with pytest.raises(InvalidInput, match="k must be"):
        demo_catalog.enqueue_connections("demo/conv2", "demo/conv3", "direct", k=-1)
    with pytest.raises(NotFound, match="unknown user"):
        demo_catalog.enqueue_layer_compute("vis", "demo/conv3", 16, {"kinds": ["channel"]}, author="nobody")
    assert state(demo_catalog) == before


def _small_address_space() -> None:
    limit = 4 * 2**30
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def test_a_huge_unit_range_is_refused_at_once(demo_catalog: Catalog, db_url, blob_dir):
    """`--units 0-300000000` once took 14 GB before it was killed; in a process limited to
    4 GB of address space it must be one line, quickly."""
    before = state(demo_catalog)
    done = subprocess.run(
        [sys.executable, "-m", "atlas.cli", "--db", db_url, "--blobs", blob_dir, "--user", "carl", "compute", "vis",
         "--model", "demo", "--layer", "conv3", "--units", "0-300000000", "--no-wait"],
        capture_output=True, text=True, timeout=120, preexec_fn=_small_address_space,
    )
    refused(done.returncode, done.stderr, "unit 300000000 is out of range")
    assert state(demo_catalog) == before


def test_a_local_compute_runs_only_the_jobs_it_queued(registered: Catalog, db_url, blob_dir, capsys):
    with Catalog.open(db_url, blob_dir, user="cora") as cora:
        params = {"kinds": ["channel"], "render": {"size": 32, "steps": 2}}
        theirs = cora.enqueue_layer_compute("vis", "tiny/3", 4, params, units=[4])
    code, out, _ = atlas(capsys, db_url, blob_dir, "carl", "compute", "vis", "--model", "tiny", "--layer", "3",
                         "--units", "0-1", "--size", "32", "--steps", "2", "--device", "cpu")
    assert code == 0 and "done: 2 new" in out
    queue = JobQueue(registered.engine)
    assert queue.get(theirs[0]).status == "queued"  # cora's job waits for a worker
    assert registered.artifacts("tiny/3/4") == []
