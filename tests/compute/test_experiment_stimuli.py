"""An experiment's sweep stimuli come from the sweep registry, jittered per sample, and
its pre-activation measurement is the one every statistic reads (``tap_sites``)."""

from __future__ import annotations

import pytest
import torch

from atlas.compute.capture import capture
from atlas.compute.datasets.sweep_spec import SWEEPS
from atlas.compute.datasets.sweeps import sweep_images
from atlas.compute.experiments.interventions import build
from atlas.compute.experiments.measure import Measurement, measure
from atlas.compute.experiments.stimuli import resolve_stimuli
from atlas.compute.models import load_model


@pytest.mark.parametrize("name", SWEEPS.names())
def test_every_registered_sweep_draws_jittered_samples_of_each_step(name):
    stimuli = resolve_stimuli({"sweep": name, "steps": 3, "samples": 2, "seed": 5}, 32)
    clean, shows = sweep_images(name, 3, 32)
    assert stimuli.images.shape == (6, 3, 32, 32) and len(stimuli.order) == 3
    assert stimuli.conditions == [c for c in stimuli.order for _ in range(2)]
    assert stimuli.order == [f"{next(iter(c.values())):g}" for c in shows]
    assert 0 <= stimuli.images.min() and stimuli.images.max() <= 1
    assert not torch.equal(stimuli.images[0], stimuli.images[1])  # two samples of one step differ
    assert (stimuli.images[::2] - clean).abs().mean() < 0.25  # ...but both are that step's image
    again = resolve_stimuli({"sweep": name, "steps": 3, "samples": 2, "seed": 5}, 32)
    assert torch.equal(again.images, stimuli.images)  # seeded


def test_a_pre_activation_measurement_reads_what_capture_reads():
    model, _info = load_model("demo")
    images = resolve_stimuli({"sweep": "curvature", "steps": 4, "samples": 2}, 64).images
    means = {}
    for site in ("pre", "post"):
        for reduce in ("max", "mean"):
            spec = {"unit": "demo/conv3/5", "site": site, "reduce": reduce}
            measured, _ = measure(model, images, Measurement.build(spec, None), build({"kind": "none"}), None)
            expected = capture(model, ["conv3"], images, reduce, site=site)["conv3"][:, 5]
            torch.testing.assert_close(measured, expected)
            means[site] = measured
    assert (means["pre"] < means["post"]).all()  # read before the ReLU: its negative values count
