"""InceptionV1 built in code against Lucent's port: same keys, same activations.

Lucent is an optional test dependency (``pip install --no-deps torch-lucent==0.1.8``). Its
package ``__init__`` imports torchvision, which does not install beside this torch, so the
two files of the model are loaded directly under stub parent packages.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import sys
import types
from pathlib import Path

import pytest
import torch

from atlas.compute.capture import capture
from atlas.compute.models import discover_layers, load_model
from atlas.compute.models.inceptionv1 import BLOCKS, STUDIED_LAYERS, InceptionV1, same_pad
from tests.availability import unavailable

LUCID_CHANNELS = {"conv2d0": 64, "conv2d1": 64, "conv2d2": 192, "mixed3a": 256,
                  "mixed3b": 480, "mixed4a": 508, "mixed4b": 512, "mixed4c": 512,
                  "mixed4d": 528, "mixed4e": 832, "mixed5a": 832, "mixed5b": 1024}


@pytest.fixture(scope="module")
def lucent_cls():
    spec = importlib.util.find_spec("lucent")
    if spec is None:
        unavailable("torch-lucent not installed (pip install --no-deps torch-lucent==0.1.8)")
    root = Path(spec.submodule_search_locations[0]) / "modelzoo"
    before = {name for name in sys.modules if name.startswith("lucent")}
    for name, path in (("lucent.modelzoo", root), ("lucent.modelzoo.inceptionv1",
                                                   root / "inceptionv1")):
        stub = types.ModuleType(name)
        stub.__path__ = [str(path)]
        sys.modules[name] = stub
    try:
        yield importlib.import_module("lucent.modelzoo.inceptionv1.InceptionV1").InceptionV1
    finally:
        for name in [n for n in sys.modules if n.startswith("lucent") and n not in before]:
            del sys.modules[name]


@pytest.fixture(scope="module")
def pair(lucent_cls):
    torch.manual_seed(0)
    theirs = lucent_cls(pretrained=False).eval()
    ours = InceptionV1().eval()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    return ours, theirs


def test_state_dict_keys_shapes_and_order_match_lucent(lucent_cls):
    ours, theirs = InceptionV1().state_dict(), lucent_cls(pretrained=False).state_dict()
    assert [(k, v.shape) for k, v in ours.items()] == [(k, v.shape) for k, v in theirs.items()]


def test_lucent_weight_file_loads_strictly(lucent_cls, tmp_path):
    theirs = lucent_cls(pretrained=False)
    path = tmp_path / "inception5h.pth"
    torch.save(theirs.state_dict(), path)
    model, info = load_model("inceptionv1", path)
    assert torch.equal(model.mixed4c_3x3_pre_relu_conv.weight,
                       theirs.mixed4c_3x3_pre_relu_conv.weight)
    assert info.input_spec == {"shape": [3, 224, 224], "color": "RGB", "value_range": [0, 1]}


@pytest.mark.parametrize("size", [224, 160])
def test_activations_equal_lucent_at_every_named_layer(pair, size):
    ours, theirs = pair
    image = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(size))
    names = list(STUDIED_LAYERS)
    got = capture(ours, names, image)
    # Lucent's model takes Lucid's input range; its render pipeline maps [0, 1] to it.
    want = capture(theirs, names, image * 255 - 117)
    for name in names:
        assert got[name].shape == want[name].shape, name
        scale = want[name].abs().max().item()
        assert scale > 0, name
        torch.testing.assert_close(got[name], want[name], rtol=0, atol=1e-4 * scale,
                                   msg=lambda m, n=name: f"{n}: {m}")


def test_output_probabilities_equal_lucent(pair):
    ours, theirs = pair
    image = torch.rand(2, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(ours(image), theirs(image * 255 - 117), rtol=1e-4,
                                   atol=1e-6)


def test_layers_have_lucid_names_channels_and_sizes():
    specs = discover_layers(InceptionV1(), (3, 224, 224))
    assert [s.name for s in specs] == list(LUCID_CHANNELS)
    assert {s.name: s.channels for s in specs} == LUCID_CHANNELS
    sizes = {s.name: s.spatial_shape for s in specs}
    assert sizes["conv2d0"] == (112, 112) and sizes["mixed3a"] == (28, 28)
    assert sizes["mixed4e"] == (14, 14) and sizes["mixed5b"] == (7, 7)
    assert {s.kind for s in specs if s.name in BLOCKS} == {"concat"}
    assert [s.order for s in specs] == list(range(len(specs)))


@pytest.mark.parametrize("size", [224, 225, 57])
def test_same_padding_follows_tensorflow(size):
    """TF SAME: output ceil(size / stride), the odd pad pixel after (bottom/right)."""
    x = torch.zeros(1, 1, size, size)
    padded = same_pad(x, 7, 2, value=1.0)
    total = max((math.ceil(size / 2) - 1) * 2 + 7 - size, 0)
    assert padded.shape[-1] == size + total
    before = total // 2
    assert padded[0, 0, before, before:before + size].eq(0).all()
    assert padded[0, 0, :before].eq(1).all() and padded[0, 0, before + size:].eq(1).all()
    out = torch.nn.functional.conv2d(padded, torch.ones(1, 1, 7, 7), stride=2)
    assert out.shape[-1] == math.ceil(size / 2)
