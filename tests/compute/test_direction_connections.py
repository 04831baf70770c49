"""A direction's connections: its input kernels are the combination of its channels'
kernels, its output kernels the combination of the next layer's kernels over its
channels, stored as the direction's edges (signed, ranked at the direction's end) by the
``connections.directions`` job and read back through ``Catalog.top_inputs/top_outputs``.
Checked by hand on the real weights of hand-built models."""

import numpy as np
import pytest
import torch
from tiny_models import YELLOW, spread_direction, tiny, yellow_direction

from atlas import Catalog
from atlas.cli import main
from atlas.compute.connections.directions import direction_connections
from atlas.compute.connections.linear import expanded_kernels
from atlas.compute.registration import load_registered, register_model
from atlas.compute.run import run_jobs
from atlas.errors import InvalidInput, NotFound
from atlas.vocabulary import DIRECTION_CONNECTIONS_KIND

pytestmark = pytest.mark.usefixtures("allow_test_factories")
RNG = np.random.default_rng(0)
SIGNED = RNG.normal(size=4).astype(np.float32)  # a direction of tiny's layer "0" (4 channels)


def _register(catalog: Catalog, name: str, factory, tmp_path) -> torch.nn.Module:
    path = tmp_path / f"{name}.pt"
    torch.save(factory().state_dict(), path)
    register_model(catalog, name, f"tiny_models:{factory.__name__}", path)
    return load_registered(catalog, name, "cpu")


def _run(catalog: Catalog, ids: list[int]) -> None:
    jobs = run_jobs(catalog, ids, (DIRECTION_CONNECTIONS_KIND,), "cpu", local=True, description="test")
    assert [job.status for job in jobs] == ["done"] * len(ids), [job.error for job in jobs]


def test_yellow_direction_inputs_are_the_combination_of_its_channels_kernels(catalog, tmp_path):
    model = _register(catalog, "spread", spread_direction, tmp_path)
    catalog.add_direction("spread/2", "yellow", yellow_direction())
    assert [layer.name for layer in catalog.layers("spread")] == ["0", "2"]
    ids = catalog.enqueue_direction_connections("spread/2", ["yellow"], k=4)
    assert len(ids) == 1  # "2" is the last spatial layer: inputs only
    _run(catalog, ids)
    edges = catalog.top_inputs("spread/2/dir:yellow", k=10)
    weight = model[2].weight.detach()[:, :, 0, 0].numpy()  # (6, 4)
    by_hand = yellow_direction() @ weight  # sum_c v_c W[c, s]
    assert [e.src for e in edges] == [f"spread/0/{s}" for s in np.argsort(-np.abs(by_hand), kind="stable")]
    assert edges[0].src == f"spread/0/{YELLOW}"  # the yellow detector feeds the yellow direction most
    for edge in edges:
        s = int(edge.src.rsplit("/", 1)[1])
        kernel = catalog.edge_kernel(edge)
        assert kernel.shape == (1, 1) and np.isclose(float(kernel[0, 0]), by_hand[s], atol=1e-3)
        assert np.isclose(edge.strength, abs(by_hand[s]), atol=1e-5)
        assert np.isclose(edge.net, by_hand[s], atol=1e-5)  # signed like the units' edges
    # The direction's edges stay its own: the detectors' outputs are among units only.
    assert catalog.top_outputs(f"spread/0/{YELLOW}") == []


def test_a_signed_direction_inputs_and_outputs_match_the_kernels_by_hand(catalog, tmp_path):
    model = _register(catalog, "tiny", tiny, tmp_path)
    catalog.add_direction("tiny/0", "mix", SIGNED)
    catalog.add_direction("tiny/3", "mix", RNG.normal(size=6).astype(np.float32))
    unit_jobs = catalog.enqueue_connections("tiny/0", "tiny/3", "direct", k=3)
    run_jobs(catalog, unit_jobs, ("connections", "connections.rank"), "cpu", local=True, description="units")
    unit_edges = catalog.top_outputs("tiny/0/1", k=50)
    _run(catalog, catalog.enqueue_direction_connections("tiny/0", ["mix"], k=2))
    _run(catalog, catalog.enqueue_direction_connections("tiny/3", ["mix"], k=2))
    w3 = model[3].weight.detach()  # (6, 4, 3, 3): tiny's conv "3" reads "0" through a ReLU and a 2x2 pool
    outputs = catalog.top_outputs("tiny/0/dir:mix", k=50)
    expected = torch.einsum("ncij,c->nij", w3, torch.as_tensor(SIGNED)).numpy()
    assert len(outputs) == 6  # k=2 strongest, most excitatory and most inhibitory: up to 6 of 6
    for edge in outputs:
        n = int(edge.dst.rsplit("/", 1)[1])
        np.testing.assert_allclose(catalog.edge_kernel(edge), expected[n], atol=2e-3)  # float16 kernels
        assert np.isclose(edge.strength, np.linalg.norm(expected[n]), rtol=1e-4)
    assert outputs[0].strength == max(e.strength for e in outputs) and outputs[0].rank == 0
    vector = catalog.direction_vector("tiny/3/dir:mix")
    inputs = catalog.top_inputs("tiny/3/dir:mix", k=50)
    by_hand = torch.einsum("c,csij->sij", torch.as_tensor(vector), w3).numpy()
    assert sorted(int(e.src.rsplit("/", 1)[1]) for e in inputs) == [0, 1, 2, 3]
    for edge in inputs:
        np.testing.assert_allclose(catalog.edge_kernel(edge), by_hand[int(edge.src.rsplit("/", 1)[1])], atol=2e-3)
    # The units' own edges are unchanged by the directions' (and do not list them).
    assert catalog.top_outputs("tiny/0/1", k=50) == unit_edges
    assert all("dir:" not in e.src for e in catalog.top_inputs("tiny/3/0", k=50))


def test_direction_edges_are_kept_unless_forced_and_units_still_compute_after_them(catalog, tmp_path):
    _register(catalog, "tiny", tiny, tmp_path)
    catalog.add_direction("tiny/3", "mix", RNG.normal(size=6).astype(np.float32))
    first = catalog.enqueue_direction_connections("tiny/3", ["mix"], k=2)
    _run(catalog, first)
    before = catalog.top_inputs("tiny/3/dir:mix", k=50)
    # Unit edges of the same pair are written though the directions' edges exist.
    unit_jobs = catalog.enqueue_connections("tiny/0", "tiny/3", "direct", k=3)
    run_jobs(catalog, unit_jobs, ("connections", "connections.rank"), "cpu", local=True, description="units")
    assert catalog.top_inputs("tiny/3/0", k=50)
    forced = catalog.enqueue_direction_connections("tiny/3", ["mix"], k=1, force=True)
    _run(catalog, forced)
    after = catalog.top_inputs("tiny/3/dir:mix", k=50)
    assert len(after) <= len(before) and [e.src for e in after] == [e.src for e in before][:len(after)]
    assert catalog.top_inputs("tiny/3/0", k=50)  # replacing the direction's edges kept the units'


def test_direction_connections_refuse_what_they_cannot_compute(catalog, tmp_path):
    model = _register(catalog, "tiny", tiny, tmp_path)
    catalog.add_direction("tiny/3", "mix", RNG.normal(size=6).astype(np.float32))
    with pytest.raises(NotFound, match="unknown feature tiny/3/dir:absent"):
        catalog.enqueue_direction_connections("tiny/3", ["absent"])
    with pytest.raises(InvalidInput, match="direct or expanded"):
        catalog.enqueue_direction_connections("tiny/3", ["mix"], kind="attribution")
    with pytest.raises(InvalidInput, match="direction of zeros"):
        direction_connections(model, "direct", "in", "3", "0", np.zeros((1, 6), np.float32), 3, 32)
    assert catalog.top_inputs("tiny/3/dir:mix") == []


def test_cli_computes_a_direction_s_connections(catalog, db_url, blob_dir, tmp_path, capsys):
    _register(catalog, "spread", spread_direction, tmp_path)
    catalog.add_direction("spread/2", "yellow", yellow_direction())

    def atlas(*args: str) -> int:
        return main(["--db", db_url, "--blobs", blob_dir, "--user", "alice", *args])

    assert atlas("compute", "connections", "--model", "spread", "--directions", "yellow") == 1
    assert "--directions needs --layer" in capsys.readouterr().err
    assert atlas("compute", "connections", "--model", "spread", "--layer", "2", "--directions", "yellow",
                 "--device", "cpu") == 0
    assert "done: 4 direct edges (inputs of yellow)" in capsys.readouterr().out
    assert catalog.top_inputs("spread/2/dir:yellow")[0].src == f"spread/0/{YELLOW}"


def test_expanded_direction_inputs_combine_the_expanded_kernels(catalog, tmp_path):
    model = _register(catalog, "tiny", tiny, tmp_path)
    vector = np.array([1.0, 0.0, -2.0, 0.5, 0.0, 0.0], np.float32)  # channels 1, 4 and 5 unused
    catalog.add_direction("tiny/3", "sparse", vector)
    _run(catalog, catalog.enqueue_direction_connections("tiny/3", ["sparse"], kind="expanded", k=4))
    expanded = expanded_kernels(model, "0", "3", catalog.model("tiny").input_size)  # every unit of "3"
    by_hand = torch.einsum("c,csij->sij", torch.as_tensor(vector), expanded).numpy()
    inputs = catalog.top_inputs("tiny/3/dir:sparse", k=50, kind="expanded")
    assert sorted(int(e.src.rsplit("/", 1)[1]) for e in inputs) == [0, 1, 2, 3]
    for edge in inputs:
        s = int(edge.src.rsplit("/", 1)[1])
        np.testing.assert_allclose(catalog.edge_kernel(edge), by_hand[s], atol=2e-3)
        assert np.isclose(edge.net, by_hand[s][by_hand[s] > 0].sum() - np.abs(by_hand[s][by_hand[s] < 0]).sum(),
                          rtol=1e-4, atol=1e-6)
    assert catalog.top_inputs("tiny/3/dir:sparse", kind="direct") == []
