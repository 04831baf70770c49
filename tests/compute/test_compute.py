"""`atlas compute` end to end: registered model, chunk jobs, a local worker, artifacts."""

import pytest
import torch
from tiny_models import tiny

from atlas import Catalog
from atlas.cli import main
from atlas.cli.compute import parse_units
from atlas.compute.registration import register_model
from atlas.errors import InvalidInput

pytestmark = pytest.mark.usefixtures("allow_test_factories")


@pytest.fixture
def registered(catalog: Catalog, tmp_path) -> Catalog:
    torch.manual_seed(0)
    path = tmp_path / "tiny.pt"
    torch.save(tiny().state_dict(), path)
    register_model(catalog, "tiny", "tiny_models:tiny", path)
    return catalog


def test_compute_vis_runs_jobs_and_is_idempotent(registered: Catalog, db_url, blob_dir, capsys):
    base = ["--db", db_url, "--blobs", blob_dir, "--user", "alice", "compute", "vis", "--model", "tiny",
            "--layer", "3", "--units", "0-5", "--chunk-size", "4", "--size", "32", "--steps", "4", "--device", "cpu"]
    assert main(base) == 0
    out = capsys.readouterr().out
    assert "2 vis jobs" in out and "done: 6 new, 0 already there" in out
    artifact = registered.artifacts("tiny/3/5", "vis.channel")[0]
    assert registered.blobs.get_png(artifact.blobs["image"]).size == (32, 32)
    assert artifact.job_id is not None and artifact.params["steps"] == 4
    assert main(base) == 0  # the same jobs again: found by their dedupe keys, nothing recomputed
    out = capsys.readouterr().out
    assert "2 vis jobs" in out and "all 2 jobs were already done: nothing recomputed" in out and "new" not in out
    again = registered.artifacts("tiny/3/5")
    assert len(again) == 1 and again[0].job_id == artifact.job_id


def test_parse_units():
    assert parse_units("0,3,8-10") == [0, 3, 8, 9, 10]
    assert parse_units(None) is None
    with pytest.raises(InvalidInput, match="invalid --units"):
        parse_units("a-b")


def test_compute_connections_and_examples(registered: Catalog, db_url, blob_dir, capsys):
    base = ["--db", db_url, "--blobs", blob_dir, "--user", "alice", "compute"]
    for command in ("connections", "expanded"):
        assert main([*base, command, "--model", "tiny", "-k", "3", "--device", "cpu"]) == 0
    assert "expanded edges" in capsys.readouterr().out
    direct = registered.top_inputs("tiny/3/0", k=10, kind="direct")
    expanded = registered.top_inputs("tiny/3/0", k=10, kind="expanded")
    assert len(direct) >= 3 and len(expanded) >= 3
    assert registered.edge_kernel(direct[0]).shape == (3, 3)
    assert main([*base, "examples", "--model", "tiny", "--layer", "3", "--units", "0-3", "-k", "2",
                 "--dataset", "synthetic:16", "--device", "cpu"]) == 0
    examples = registered.artifacts("tiny/3/2", "examples")[0]
    assert len(examples.blobs["top"]) == 2 and examples.job_id is not None
