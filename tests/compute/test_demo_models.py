"""The shipped demo models: files intact, accuracy reproduced, first layer interpretable;
and the coherence measure those claims rest on."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from atlas.compute.demo_training import (
    DemoTrainConfig,
    coherence_report,
    evaluate_accuracy,
    orientation_coherence,
    train_demo_model,
)
from atlas.compute.models import SEED_DEMO_DIR, discover_layers, load_model, weights_sha256
from tests.availability import unavailable

DEMOS = ["demo", "demo-b"]


def _oriented_edge(angle: float, size: int = 7) -> np.ndarray:
    c = np.arange(size) - size // 2
    x, y = np.meshgrid(c, c)
    return np.tanh(2 * (x * np.cos(angle) + y * np.sin(angle)))


def test_coherence_separates_oriented_from_random_kernels():
    for angle in np.linspace(0, np.pi, 7):
        assert orientation_coherence(_oriented_edge(angle)) > 0.9
    rng = np.random.default_rng(0)
    random = [orientation_coherence(rng.normal(size=(3, 7, 7))) for _ in range(50)]
    assert np.median(random) < 0.3
    opponent = np.stack([_oriented_edge(0.4), -_oriented_edge(0.4), np.zeros((7, 7))])
    assert orientation_coherence(torch.tensor(opponent)) > 0.9  # a red-green edge
    assert orientation_coherence(np.ones((3, 7, 7))) == 0.0


@pytest.fixture(scope="module", params=DEMOS)
def shipped(request):
    name = request.param
    sidecar = SEED_DEMO_DIR / f"{name}.json"
    if not sidecar.exists():
        unavailable(f"{sidecar} not trained yet: train_demo_model(DemoTrainConfig({name!r}))")
    report = json.loads(sidecar.read_text())
    model, info = load_model(name)
    return name, report, model, info


def test_shipped_files_match_their_record(shipped):
    name, report, _, info = shipped
    path = SEED_DEMO_DIR / report["weights"]
    assert path.stat().st_size < 5_000_000
    assert weights_sha256(path) == report["sha256"] == info.weights_sha256
    assert info.input_spec == {"shape": [3, 64, 64], "color": "RGB", "value_range": [0, 1]}
    assert report["config"]["name"] == name


def test_shipped_accuracy_is_reproduced(shipped):
    _, report, model, _ = shipped
    config = report["config"]
    accuracy = evaluate_accuracy(model, config["eval_seed"], config["eval_size"])
    assert accuracy == pytest.approx(report["accuracy"], abs=0.005)
    assert accuracy >= 0.9


def test_shipped_first_layer_is_mostly_oriented(shipped):
    _, report, model, _ = shipped
    assert model.conv1.kernel_size[0] >= 5
    coherence = coherence_report(model.conv1.weight)
    assert coherence == report["conv1_coherence"]
    assert coherence["fraction_at_least_0.5"] >= 0.5


def test_demo_layers(shipped):
    _, _, model, _ = shipped
    specs = discover_layers(model, (3, 64, 64))
    assert [s.name for s in specs] == ["conv1", "conv2", "conv3", "conv4", "conv5", "fc"]
    assert [s.spatial_shape for s in specs] == [(32, 32), (32, 32), (16, 16), (8, 8), (4, 4),
                                                None]
    assert [s.kind for s in specs] == ["conv"] * 5 + ["linear"]


def test_training_writes_weights_and_report(tmp_path):
    config = DemoTrainConfig(name="tiny", widths=(4, 8, 8, 8, 8), steps=3, batch_size=9,
                             warmup_steps=1, loader_workers=0, eval_size=18)
    report = train_demo_model(config, tmp_path, progress=False)
    saved = json.loads((tmp_path / "tiny.json").read_text())
    assert saved == report
    assert report["sha256"] == weights_sha256(tmp_path / "tiny.safetensors")
    assert 0 <= report["accuracy"] <= 1
    assert len(report["conv1_coherence"]["per_filter"]) == 4
    assert set(report["selectivity"]["conv5"]) >= {"curve", "left_facing"}


def test_colour_augmentations_keep_images_and_labels_valid():
    from atlas.compute.datasets.synthetic import (
        CLASSES,
        SHAPE_CLASSES,
        color_augment,
        greyscale_augment,
    )
    images = torch.rand(36, 3, 8, 8)
    labels = torch.arange(36) % len(CLASSES)
    a = color_augment(images, torch.Generator().manual_seed(0))
    b = color_augment(images, torch.Generator().manual_seed(0))
    assert torch.equal(a, b) and a.shape == images.shape
    assert a.min() >= 0 and a.max() <= 1
    # Each image is a channel permutation of the original or of its negative.
    for x, y in zip(images, a):
        assert any(torch.allclose(torch.sort(c.flatten())[0], torch.sort(y.flatten())[0])
                   for c in (x, 1 - x))
    g = greyscale_augment(images, labels, torch.Generator().manual_seed(0), p=1.0)
    for x, y, c in zip(images, g, labels):
        if CLASSES[int(c)] in SHAPE_CLASSES:
            assert torch.allclose(y[0], y[1]) and torch.allclose(y[1], y[2])
        else:
            assert torch.equal(x, y)


def test_conv1_constraints():
    from atlas.compute.demo_training import _roughness, _zero_mean_
    w = torch.randn(4, 3, 7, 7)
    _zero_mean_(w)
    assert w.mean(dim=(2, 3)).abs().max() < 1e-6
    ramp = torch.tensor(_oriented_edge(0.3), dtype=torch.float32).expand(1, 3, 7, 7)
    assert _roughness(ramp) < _roughness(w)
    assert torch.isclose(_roughness(3 * w), _roughness(w))  # scale-free


def test_main_train_names_and_writes(tmp_path):
    from atlas.compute.demo_training import main_train
    report = main_train(2, "tiny", out_dir=tmp_path, progress=False, widths=(4, 8, 8, 8, 8),
                        steps=2, batch_size=9, warmup_steps=1, loader_workers=0, eval_size=18)
    assert report["config"]["seed"] == 2 and (tmp_path / "tiny.safetensors").exists()
