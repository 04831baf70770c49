"""Registering models in the catalogue: real weights, safe loading, nothing on failure."""

import os
import pickle

import pytest
import torch
from tiny_models import tiny

from atlas import Catalog
from atlas.compute.registration import ModelCache, load_registered, register_model
from atlas.errors import InvalidInput

pytestmark = pytest.mark.usefixtures("allow_test_factories")


@pytest.fixture
def weights(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "tiny.pt"
    torch.save(tiny().state_dict(), path)
    return path


def test_register_and_load_a_factory_model(catalog: Catalog, weights):
    register_model(catalog, "tiny", "tiny_models:tiny", weights)
    layers = catalog.layers("tiny")
    assert [(l.name, l.kind, l.channels) for l in layers] == [("0", "conv", 4), ("3", "conv", 6), ("7", "linear", 2)]
    assert layers[0].spatial_shape == (224, 224)
    registered = catalog.model("tiny")
    assert registered.weights_sha256 and registered.source == str(weights.resolve())
    model = load_registered(catalog, "tiny", "cpu")
    expected = tiny()
    expected.load_state_dict(torch.load(weights, weights_only=True))
    assert torch.equal(model[0].weight, expected[0].weight)
    assert catalog.feature("tiny/3/5").channel == 5


def test_changed_weights_are_refused_at_compute_time(catalog: Catalog, weights):
    register_model(catalog, "tiny", "tiny_models:tiny", weights)
    torch.save(tiny().state_dict(), weights)  # another initialisation
    with pytest.raises(InvalidInput, match="have changed since it was registered"):
        load_registered(catalog, "tiny", "cpu")


def test_a_worker_loads_a_model_once_and_again_when_its_weights_change(catalog: Catalog, weights, tmp_path):
    register_model(catalog, "tiny", "tiny_models:tiny", weights)
    other = tmp_path / "other.pt"
    torch.save(tiny().state_dict(), other)
    register_model(catalog, "other", "tiny_models:tiny", other)
    models = ModelCache(catalog, "cpu", size=1)
    first = models.get("tiny")
    assert models.get("tiny") is first  # cached
    assert models.get("other") is not first and models.get("tiny") is not first  # size 1: evicted
    torch.save(tiny().state_dict(), weights)  # another initialisation under the same name
    os.utime(weights, ns=(1, 1))  # a different modification time even on a coarse clock
    with pytest.raises(InvalidInput, match="have changed since it was registered"):
        models.get("tiny")


class Exploit:
    def __reduce__(self):
        return (print, ("pwned",))


def test_bad_checkpoints_register_nothing(catalog: Catalog, tmp_path):
    hostile = tmp_path / "hostile.pt"
    with open(hostile, "wb") as handle:
        pickle.dump({"0.weight": Exploit()}, handle)
    truncated = tmp_path / "truncated.pt"
    good = tmp_path / "good.pt"
    torch.save(tiny().state_dict(), good)
    truncated.write_bytes(good.read_bytes()[:100])
    wrong = tmp_path / "wrong.pt"
    state = tiny().state_dict()
    state["0.weight"] = torch.zeros(4, 3, 5, 5)
    torch.save(state, wrong)
    for path in (hostile, truncated, wrong):
        with pytest.raises(InvalidInput):
            register_model(catalog, "tiny", "tiny_models:tiny", path)
    assert catalog.models() == []
    with pytest.raises(InvalidInput, match="shape"):
        register_model(catalog, "tiny", "tiny_models:tiny", wrong)
