"""The worked example of docs/models.md ("Worked example"), run through the CLI for both
real ImageNet models: register the published weights with ImageNet preprocessing (or
[-1, 1] scaling) and chosen layers, visualize one unit, find its dataset examples, show it;
then check that the visualization drives the unit far above what real photographs do.

The unit is chosen by a rule fixed before any number was seen: unit 0 of the layer named
in ``WORKED``. The rule "far above" was also fixed first: the unit's pre-activation on its
own visualization (spatial mean, the channel objective's own measure, re-measured here
through the registered, preprocessed model from the stored PNG) exceeds the photographs'
mean by more than twice as much as the best photograph does:
``vis - mean > 2 * (max - mean)``, over the 26 distinct images of ``package:skimage`` at
the visualization's size. The measured numbers are printed (run with ``-s``) and
recorded in docs/models.md.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from real_weights import real_weights
from torch.utils.data import Dataset

from atlas import Catalog
from atlas.cli import main
from atlas.compute.capture import capture, collect_activations
from atlas.compute.datasets.folder import to_tensor
from atlas.compute.datasets.spec import open_dataset, parse_dataset
from atlas.compute.registration import load_registered

pytestmark = pytest.mark.slow

# The models' native size and the library's default steps: the settings pre-registered in
# docs/models.md after 128 px and 256 steps left EfficientNet-Lite0's unit short of the rule.
# A render takes about 20 s on this 2-core CPU.
SIZE = 224
STEPS = 512
FAR_ABOVE = 2.0  # vis - mean > FAR_ABOVE * (max - mean)


@dataclass(frozen=True)
class Worked:
    name: str  # the catalogue name
    weights: str  # examples.weights name
    arch: str
    preprocess: tuple[str, ...]
    layers: tuple[str, ...]  # --layers patterns
    chosen: tuple[str, ...]  # what they select, in running order
    layer: str  # the visualized layer; its unit 0 is the visualized unit


MOBILENET_CHOSEN = tuple(f"features.{i}.conv.0.2" for i in range(6, 14))
LITE0_CHOSEN = tuple(f"_blocks.{i}._bn0" for i in range(4, 10))
WORKED = {
    "mobilenet": Worked("mobilenet", "mobilenet_v2", "examples.mobilenet_v2:build_published",
                        ("--preprocess", "imagenet"), ("features.[6-9].conv.0.2", "features.1[0-3].conv.0.2"),
                        MOBILENET_CHOSEN, "features.9.conv.0.2"),
    "lite0": Worked("lite0", "efficientnet_lite0", "examples.efficientnet_lite0:build_published",
                    ("--scale=-1,1",), ("_blocks.[4-9]._bn0",), LITE0_CHOSEN, "_blocks.6._bn0"),
}


@pytest.fixture(autouse=True)
def allow_examples(monkeypatch):
    monkeypatch.setenv("ATLAS_ALLOWED_FACTORY_MODULES", "examples")


@pytest.fixture
def cli(tmp_path: Path, capsys):
    """``atlas --db sqlite:///… --blobs … ARGS`` in-process on a fresh catalogue (admin ada);
    returns (exit code, stdout, stderr), the URL and the blob directory."""
    url, blobs = f"sqlite:///{tmp_path}/atlas.db", str(tmp_path / "blobs")

    def invoke(*args: str) -> tuple[int, str, str]:
        code = main(["--db", url, "--blobs", blobs, "--user", "ada", *args])
        out, err = capsys.readouterr()
        return code, out, err

    assert main(["--db", url, "--blobs", blobs, "init", "--admin", "ada"]) == 0
    capsys.readouterr()
    invoke.url, invoke.blobs = url, blobs  # type: ignore[attr-defined]
    return invoke


def unit_means(model: torch.nn.Module, layer: str, unit: int, images: torch.Tensor | Dataset) -> np.ndarray:
    """The unit's spatial-mean pre-activation on each image (a tensor batch or a dataset)."""
    if isinstance(images, torch.Tensor):
        acts = capture(model, [layer], images, reduction="mean", site="pre")[layer]
    else:
        acts = collect_activations(model, [layer], images, batch_size=13, reduction="mean", site="pre")[layer]
    return acts[:, unit].numpy()


# Whether each unit met the rule, as measured (docs/models.md, "Worked example"): recorded,
# not tuned. At 128 px and 256 steps EfficientNet-Lite0's unit was not far above (ratio
# 1.69); at these pre-registered settings it is, narrowly (2.02 to 2.04, by thread count);
# MobileNetV2's is at 5.85. A change either way fails here, so the docs are updated with it.
MEETS_RULE = {"mobilenet": True, "lite0": True}


@pytest.mark.parametrize("name", list(WORKED))
def test_worked_example_then_the_unit_on_its_visualization_vs_real_photographs(cli, name):
    w = WORKED[name]
    weights = str(real_weights(w.weights))
    address = f"{w.name}/{w.layer}/0"

    code, out, err = cli("model", "add", w.name, "--arch", w.arch, "--weights", weights, *w.preprocess,
                         "--layers", *w.layers)
    assert code == 0, err
    listed = [line.split()[0] for line in out.splitlines()[1:]]
    assert tuple(listed) == w.chosen
    code, out, err = cli("model", "layers", w.name)
    assert code == 0, err
    offered = [line.split()[0] for line in out.splitlines()[2:]]
    assert tuple(m for m in offered if any(fnmatch.fnmatchcase(m, p) for p in w.layers)) == w.chosen

    code, out, err = cli("compute", "vis", "--model", w.name, "--layer", w.layer, "--units", "0",
                         "--size", str(SIZE), "--steps", str(STEPS))
    assert code == 0, err
    code, out, err = cli("compute", "examples", "--model", w.name, "--layer", w.layer, "--units", "0",
                         "--dataset", "package:skimage:200")
    assert code == 0, err
    code, out, err = cli("show", address)
    assert code == 0, err
    assert re.search(r"dataset examples \(\{'kind': 'package', 'package': 'skimage', [^\n]*'n': 200[^\n]*"
                     r"pre-activation\):\n +top: +image \d+", out), out

    catalog = Catalog.open(cli.url, cli.blobs, user="ada")
    try:
        (vis,) = catalog.artifacts(address, "vis.channel")
        image = to_tensor(catalog.blobs.get_png(vis.blobs["image"]).convert("RGB"))[None]
        model = load_registered(catalog, w.name, "cpu")
    finally:
        catalog.close()
    photos = open_dataset(parse_dataset("package:skimage:26", SIZE))
    on_vis = float(unit_means(model, w.layer, 0, image)[0])
    on_photos = unit_means(model, w.layer, 0, photos)
    mean, best = float(on_photos.mean()), float(on_photos.max())
    print(f"\n{address}: on its visualization {on_vis:.3f} (the render's own value {vis.outcome}); "
          f"on {len(on_photos)} photographs mean {mean:.3f}, max {best:.3f}; "
          f"(vis - mean) / (max - mean) = {(on_vis - mean) / (best - mean):.2f}")
    assert (on_vis - mean > FAR_ABOVE * (best - mean)) == MEETS_RULE[name]
