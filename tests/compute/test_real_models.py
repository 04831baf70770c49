"""The example ImageNet models (``examples/``) with their published weights: the files load
strictly into the factories, through the atlas's one door (``load_model``, weights only,
pinned sha256), and classify scikit-image's photographs as ImageNet models should.

ImageNet class indices (the usual 1,000-class order): 281 tabby, 282 tiger cat,
285 Egyptian cat; 504 coffee mug, 967 espresso, 968 cup; 657 missile, 744 projectile,
812 space shuttle.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from real_weights import real_weights
from skimage import data as skimage_data  # a project dependency: its sample photographs

from atlas.compute.datasets.folder import fit, to_tensor
from atlas.compute.models import load_model
from atlas.compute.models.layers import discover_layers
from atlas.compute.models.loading import WeightsMismatch, read_state_dict
from examples import efficientnet_lite0, mobilenet_v2
from examples.weights import WEIGHTS

MODELS = ("mobilenet_v2", "efficientnet_lite0")
# photograph -> ImageNet classes one of which must be in the top 5
EXPECTED = {"coffee": {967, 968, 504}, "chelsea": {281, 282, 285}, "rocket": {657, 744, 812}}


@pytest.fixture(autouse=True)
def allow_examples(monkeypatch):
    monkeypatch.setenv("ATLAS_ALLOWED_FACTORY_MODULES", "examples")


def photographs() -> torch.Tensor:
    """The photographs of ``EXPECTED``, RGB in [0, 1], shorter side 224, centre crop."""
    return torch.stack([to_tensor(fit(Image.fromarray(getattr(skimage_data, name)()).convert("RGB"), 224))
                        for name in EXPECTED])


@pytest.mark.parametrize("name", MODELS)
def test_published_weights_have_the_factory_s_exact_keys_and_shapes(name):
    state = read_state_dict(real_weights(name), WEIGHTS[name].sha256)
    module = {"mobilenet_v2": mobilenet_v2, "efficientnet_lite0": efficientnet_lite0}[name]
    for model in (module.build(), module.build_published()):
        assert list(model.state_dict()) == list(state)
        assert all(model.state_dict()[k].shape == v.shape for k, v in state.items())


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_the_models_classify_real_photographs(name):
    model, info = load_model(WEIGHTS[name].factory, real_weights(name), expected_sha256=WEIGHTS[name].sha256)
    assert info.weights_sha256 == WEIGHTS[name].sha256 and not model.training
    with torch.no_grad():
        probabilities = model(photographs()).softmax(dim=1)
    for photo, row in zip(EXPECTED, probabilities):
        top5 = set(row.topk(5).indices.tolist())
        assert top5 & EXPECTED[photo], f"{name} on {photo}: top 5 {sorted(top5)}"
    # coffee: the espresso is the clear first choice of both
    assert int(probabilities[0].argmax()) == 967


@pytest.mark.slow
def test_build_takes_0_1_input_and_build_published_the_normalised_input():
    """``build`` is the published network after its own input scaling: the same logits."""
    weights = real_weights("mobilenet_v2")
    scaled, published = mobilenet_v2.build().eval(), mobilenet_v2.build_published().eval()
    for model in (scaled, published):
        model.load_state_dict(read_state_dict(weights), strict=True)
    x = photographs()[:1]
    mean, std = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])
    with torch.no_grad():
        torch.testing.assert_close(scaled(x), published((x - mean[:, None, None]) / std[:, None, None]))


def test_efficientnet_pads_as_tensorflow_does():
    """Stride-2 "SAME" padding puts the odd pixel after: the stem's output pixel (0, 0) sees
    input rows and columns 0-1 (plus no padding before), not a padded row."""
    model = efficientnet_lite0.build_published().eval()
    with torch.no_grad():
        model._conv_stem.weight.zero_()
        model._conv_stem.weight[0, 0, 0, 0] = 1.0  # the kernel's top-left tap only
        x = torch.arange(1.0, 1 + 224 * 224).view(1, 1, 224, 224).expand(1, 3, 224, 224)
        out = model._conv_stem(x)
    assert out.shape[-2:] == (112, 112)
    assert float(out[0, 0, 0, 0]) == float(x[0, 0, 0, 0])  # top-left tap on pixel (0, 0): no padding before


def test_wrong_weights_are_refused_before_they_are_parsed(tmp_path):
    """The other model's file under this model's pinned hash: refused unparsed."""
    with pytest.raises(WeightsMismatch, match="not the expected"):
        load_model(WEIGHTS["mobilenet_v2"].factory, real_weights("efficientnet_lite0"),
                   expected_sha256=WEIGHTS["mobilenet_v2"].sha256)


@pytest.mark.parametrize("name, layers", [("mobilenet_v2", 53), ("efficientnet_lite0", 50)])
def test_every_conv_and_the_classifier_are_studied_layers(name, layers):
    module = {"mobilenet_v2": mobilenet_v2, "efficientnet_lite0": efficientnet_lite0}[name]
    found = discover_layers(module.build().eval(), (3, 224, 224))
    assert len(found) == layers
    assert found[-1].kind == "linear" and found[-1].channels == 1000
    assert np.all(np.diff([layer.order for layer in found]) == 1)
