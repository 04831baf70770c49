"""Tuning curves: a hand-built oriented-edge unit peaks at its orientation, selectivity
means what docs/science.md says, and `atlas compute tuning` stores curves, plots and
summaries as artifacts through the job queue (SQLite and PostgreSQL)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from tiny_models import EDGE_ORIENTATIONS, oriented_edges

from atlas import Catalog
from atlas.cli import main
from atlas.compute.registration import register_model
from atlas.compute.tuning import read_summary, selectivity, summarize, tuning_curves
from atlas.errors import InvalidInput

pytestmark = pytest.mark.usefixtures("allow_test_factories")


def angle_error(a: float, b: float, period: float) -> float:
    return abs((a - b + period / 2) % period - period / 2)


def test_an_oriented_edge_unit_peaks_at_its_orientation():
    curves = tuning_curves(oriented_edges(), "edges", {"sweep": "orientation", "steps": 36}, size=64)
    assert curves.responses.shape == (3, 36) and curves.values[1] == 10.0
    [first, second, centre_surround] = curves.summaries()
    for summary, orientation in zip((first, second), EDGE_ORIENTATIONS):
        assert summary["preferred"] == orientation  # the edge and its polarity: 360-degree sweep
        # A linear edge filter answers cos(orientation - preferred), rectified: on doubled
        # angles that is |integral of cos(d) exp(2id)| / integral of cos(d) over +-90 degrees = 1/3.
        assert summary["selectivity"] == pytest.approx(1 / 3, abs=0.03)
    # The opposite polarity (180 degrees away) is rectified away: the edge units are polarity selective.
    assert curves.responses[0, 24] < 0.05 * curves.responses[0, 6]
    assert centre_surround["selectivity"] < 0.1 < centre_surround["peak"]


def test_line_and_grating_sweeps_reach_the_same_units():
    model = oriented_edges()
    for stimulus in ("line", "grating"):
        curves = tuning_curves(model, "edges", {"sweep": "orientation", "steps": 18, "stimulus": stimulus},
                               units=[0], size=64)
        # A line or a bright stripe has edges of both polarities: the unit still prefers its orientation.
        assert angle_error(curves.summaries()[0]["preferred"], EDGE_ORIENTATIONS[0], 180) <= 10.0


def test_selectivity_is_circular_variance_or_peak_over_mean():
    values = np.arange(0, 180, 10.0)
    flat, delta = np.full(18, 2.0), np.where(values == 40, 5.0, 1.0)
    both = np.where((values == 40) | (values == 130), 1.0, 0.0)
    assert selectivity(values, np.stack([flat, delta, delta + 7, both]), 180.0).tolist() == \
        pytest.approx([0.0, 1.0, 1.0, 0.0])  # two orientations 90 degrees apart cancel
    opposite = np.where((values == 40) | (values == 220 - 180), 1.0, 0.0)
    assert selectivity(values, opposite[None], 180.0)[0] == pytest.approx(1.0)
    ramp = np.arange(5.0)[None]
    assert selectivity(np.arange(5.0), ramp, None)[0] == pytest.approx((4 - 2) / 4)
    [summary] = summarize(values, delta[None], 180.0)
    assert summary == {"preferred": 40.0, "peak": 5.0, "mean": pytest.approx(22 / 18), "min": 1.0,
                       "selectivity": pytest.approx(1.0)}


@pytest.fixture
def edges_model(catalog: Catalog, tmp_path) -> Catalog:
    path = tmp_path / "edges.pt"
    torch.save(oriented_edges().state_dict(), path)
    register_model(catalog, "edges", "tiny_models:oriented_edges", path)
    return catalog


def test_compute_tuning_stores_curves_plots_and_summaries(edges_model: Catalog, db_url, blob_dir, capsys):
    base = ["--db", db_url, "--blobs", blob_dir, "--user", "alice", "compute", "tuning", "--model", "edges",
            "--layer", "edges", "--sweep", "orientation", "--steps", "36", "--chunk-size", "2", "--device", "cpu"]
    assert main(base) == 0
    out = capsys.readouterr().out
    assert "2 tuning jobs" in out and "done: 3 new" in out
    assert "edges/edges/0  60  " in out and "edges/edges/1  150  " in out  # the most selective, listed
    [artifact] = edges_model.artifacts("edges/edges/0", "tuning_curve")
    assert artifact.params == {"sweep": {"sweep": "orientation", "steps": 36, "stimulus": "edge", "size": 224},
                               "site": "post", "reduction": "max"}
    assert artifact.job_id is not None
    summary = read_summary(edges_model.blobs, artifact.blobs)
    assert summary["parameter"] == "orientation" and summary["preferred"] == 60.0
    assert summary["selectivity"] == pytest.approx(1 / 3, abs=0.03)
    curve = edges_model.blobs.get_array(artifact.blobs["curve"])
    assert curve.shape == (36, 2) and curve[int(np.argmax(curve[:, 1])), 0] == 60.0
    assert edges_model.blobs.get_png(artifact.blobs["plot"]).size == (320, 180)
    assert main(base) == 0  # the same jobs: found again, nothing recomputed
    assert "nothing recomputed" in capsys.readouterr().out
    assert len(edges_model.artifacts("edges/edges/0")) == 1
    assert main([*base[:-2], "--option", "stimulus=line", "--steps", "18", "--units", "2"]) == 0
    assert len(edges_model.artifacts("edges/edges/2", "tuning_curve")) == 2
    assert len(edges_model.artifacts("edges/edges/0", "tuning_curve")) == 1


HOSTILE = [
    (["--sweep", "spirals"], "unknown sweep 'spirals'; known: curvature, curve_orientation"),
    (["--sweep", "orientation", "--steps", "0"], "sweep steps must be a whole number from 1 to 1,000, not 0"),
    (["--sweep", "orientation", "--steps", "1000001"], "sweep steps must be a whole number"),
    (["--sweep", "orientation", "--steps", "9" * 5000], "sweep steps must be a whole number"),
    (["--sweep", "orientation", "--steps", "-3"], "sweep steps"),
    (["--sweep", "orientation", "--option", "stimulus"], "use KEY=VALUE"),
    (["--sweep", "orientation", "--option", "stimulus=spiral"], "stimulus must be one of edge, line, grating"),
    (["--sweep", "frequency", "--option", "orientation=nan"], "orientation must be a number from 0 to 360"),
    (["--sweep", "frequency", "--option", "orientation=1e999"], "orientation must be a number"),
    (["--sweep", "frequency", "--option", "phase=3"], r"unknown fields \['phase'\] in the frequency sweep"),
    (["--sweep", "hue", "--units", "0-99999999"], "out of range"),
]


def test_hostile_tuning_arguments_are_one_line(edges_model: Catalog, db_url, blob_dir, capsys):
    for args, message in HOSTILE:
        code = main(["--db", db_url, "--blobs", blob_dir, "--user", "alice", "compute", "tuning", "--model",
                     "edges", "--layer", "edges", "--device", "cpu", *args])
        err = capsys.readouterr().err
        assert code == 1 and err.count("\n") == 1 and err.startswith("atlas: error: "), (args, err)
        assert re.search(message, err), err
    hue = {"sweep": "hue", "steps": 3}
    for params in ({"sweep": {"sweep": "orientation", "steps": 10**6}}, {"sweep": "orientation"},
                   {"sweep": hue, "force": "yes"}, {"sweep": hue, "k": 1}):
        with pytest.raises(InvalidInput):  # the API checks what the CLI checks, at enqueue
            edges_model.enqueue_layer_compute("tuning", "edges/edges", params=params)
    assert edges_model.jobs(kind="tuning") == []
