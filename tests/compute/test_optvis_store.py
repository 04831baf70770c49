"""Feature visualizations stored as artifacts (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from atlas.compute.optvis import RenderParams
from atlas.compute.optvis.store import visualize_units
from atlas.errors import InvalidInput

PARAMS = RenderParams(size=32, steps=3, diversity_n=2)
KINDS = ["channel", "neuron", "negative", "diversity"]


class TinyDemo(nn.Module):
    """Module names and widths of the catalogue's registered ``demo`` model."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv1 = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.conv3 = nn.Conv2d(16, 32, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv3(torch.relu(self.conv2(torch.relu(self.conv1(x)))))


def visualize(catalog, units, kinds=KINDS, params=PARAMS, **kwargs) -> dict:
    return visualize_units(catalog, TinyDemo(), "demo", "conv2", units, kinds, params,
                           device="cpu", **kwargs)


def test_visualizations_are_stored_as_artifacts(demo_catalog):
    calls = []
    summary = visualize(demo_catalog, [0, 5], progress=lambda done, total: calls.append(total))
    assert len(summary["rendered"]) == 8 and summary["skipped"] == []
    assert calls and set(calls) == {len(calls)}
    (channel,) = demo_catalog.artifacts("demo/conv2/5", "vis.channel")
    assert channel.params == PARAMS.to_dict("channel")
    image = demo_catalog.blobs.get_png(channel.blobs["image"])
    assert image.size == (32, 32) and image.mode == "RGB"
    (diversity,) = demo_catalog.artifacts("demo/conv2/0", "vis.diversity")
    assert len(diversity.blobs["images"]) == 2
    assert diversity.params["diversity_n"] == 2 and "diversity_n" not in channel.params
    kinds = {a.kind for a in demo_catalog.artifacts("demo/conv2/0")}
    assert kinds == {"vis.channel", "vis.neuron", "vis.negative", "vis.diversity"}
    entry = next(e for e in summary["rendered"] if e["address"] == "demo/conv2/5"
                 and e["kind"] == "vis.channel")
    stored = np.asarray(image, np.float32) / 255
    assert stored.std() > 0 and isinstance(entry["values"][0], float)


def test_rerun_skips_force_replaces_and_new_params_add(demo_catalog):
    visualize(demo_catalog, [1, 2], ["channel"])
    again = visualize(demo_catalog, [1, 2, 3], ["channel"])
    assert [e["address"] for e in again["rendered"]] == ["demo/conv2/3"]
    assert len(again["skipped"]) == 2
    forced = visualize(demo_catalog, [1], ["channel"], force=True)
    assert len(forced["rendered"]) == 1
    assert len(demo_catalog.artifacts("demo/conv2/1", "vis.channel")) == 1
    other = RenderParams(size=32, steps=3, seed=7)
    assert len(visualize(demo_catalog, [1], ["channel"], other)["rendered"]) == 1
    assert len(demo_catalog.artifacts("demo/conv2/1", "vis.channel")) == 2


def test_bad_units_and_kinds_are_refused(demo_catalog):
    with pytest.raises(InvalidInput, match="16 units"):
        visualize(demo_catalog, [16])
    with pytest.raises(InvalidInput, match="kind"):
        visualize(demo_catalog, [0], ["sideways"])
    assert demo_catalog.artifacts("demo/conv2/0") == []


def test_a_unit_that_cannot_respond_is_flagged_and_a_responding_one_is_not(demo_catalog):
    """conv2/4 is made dead (zero weights, bias -1: its pre-activation is -1 whatever the
    image); conv2/8 is left as initialized (it reaches about 0.13 in 16 steps). Only the dead
    one's visualization is flagged, with its value, on the artifact and on the layer grid."""
    model = TinyDemo()
    with torch.no_grad():
        model.conv2.weight[4].zero_()
        model.conv2.bias[4] = -1.0
    visualize_units(demo_catalog, model, "demo", "conv2", [4, 8], ["channel"], RenderParams(size=32, steps=16),
                    device="cpu")
    (dead,) = demo_catalog.artifacts("demo/conv2/4", "vis.channel")
    (alive,) = demo_catalog.artifacts("demo/conv2/8", "vis.channel")
    assert dead.outcome["value"] == pytest.approx(-1.0) and dead.flag == "no response (activation -1)"
    assert alive.outcome["value"] > 0.01 and alive.outcome["contrast"] > 0.01 and alive.flag is None
    cards = {card.address: card for card in demo_catalog.layer_page("demo/conv2").cards}
    assert cards["demo/conv2/4"].flag == dead.flag and cards["demo/conv2/8"].flag is None
