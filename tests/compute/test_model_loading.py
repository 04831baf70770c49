"""Safe weight loading: hostile and broken files fail clearly, good ones load strictly."""

from __future__ import annotations

import hashlib
import pickle

import pytest
import torch
from safetensors.torch import save_file

from atlas.compute.models import get_architecture, list_architectures, load_model, weights_sha256
from atlas.compute.models.demo_cnn import DemoCNN
from atlas.compute.models.loading import ModelLoadError, read_state_dict
from atlas.errors import InvalidInput, NotFound

FACTORY = "atlas.compute.models.demo_cnn:DemoCNN"
pytestmark = pytest.mark.usefixtures("allow_test_factories")


class _Payload:
    """Unpickling this calls open(marker, "w"): a pickle that carries code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture
def state():
    torch.manual_seed(0)
    return DemoCNN().state_dict()


def test_pickle_that_runs_code_is_refused_and_never_runs(tmp_path, state):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({**state, "extra": _Payload(marker)}, path)
    with pytest.raises(ModelLoadError, match="refused to load evil.pt"):
        load_model(FACTORY, path)
    assert not marker.exists()


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_legacy_raw_pickle_with_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    path.write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(ModelLoadError):
        read_state_dict(path)
    assert not marker.exists()


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_truncated_file(tmp_path, state, suffix):
    path = tmp_path / f"w{suffix}"
    if suffix == ".pt":
        torch.save(state, path)
    else:
        save_file(state, str(path))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelLoadError, match="cannot read weights file"):
        load_model(FACTORY, path)


def test_missing_and_unexpected_keys_are_named(tmp_path, state):
    state.pop("conv1.weight")
    state["head.weight"] = torch.zeros(1)
    path = tmp_path / "w.pt"
    torch.save(state, path)
    with pytest.raises(ModelLoadError) as err:
        load_model(FACTORY, path)
    assert "missing keys: conv1.weight" in str(err.value)
    assert "unexpected keys: head.weight" in str(err.value)
    assert isinstance(err.value, InvalidInput)


def test_shape_mismatch_names_key_and_shapes(tmp_path, state):
    state["conv2.weight"] = torch.zeros(32, 16, 5, 5)
    path = tmp_path / "w.safetensors"
    save_file(state, str(path))
    with pytest.raises(ModelLoadError, match=r"shape mismatch for conv2.weight: file has "
                       r"\(32, 16, 5, 5\), model expects \(32, 16, 3, 3\)"):
        load_model(FACTORY, path)


def test_non_state_dict_content(tmp_path):
    path = tmp_path / "w.pt"
    torch.save([torch.zeros(2)], path)
    with pytest.raises(ModelLoadError, match="not a state_dict"):
        read_state_dict(path)
    torch.save({"a": torch.zeros(1), "step": 3}, path)
    with pytest.raises(ModelLoadError, match="non-tensor entries: step"):
        read_state_dict(path)


@pytest.mark.parametrize("fmt", ["pt", "wrapped", "safetensors"])
def test_good_files_load_strictly(tmp_path, state, fmt):
    path = tmp_path / f"w.{'safetensors' if fmt == 'safetensors' else 'pt'}"
    if fmt == "pt":
        torch.save(state, path)
    elif fmt == "wrapped":
        torch.save({"state_dict": state}, path)
    else:
        save_file(state, str(path))
    model, info = load_model(FACTORY, path)
    assert not model.training
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key
    assert info.weights_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert info.weights_sha256 == weights_sha256(path)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit.trace/save
def test_a_traced_torchscript_file_is_refused_with_one_line(tmp_path, state):
    source = DemoCNN()
    source.load_state_dict(state)
    path = tmp_path / "traced.pt"
    torch.jit.save(torch.jit.trace(source.eval(), torch.zeros(1, 3, 64, 64)), str(path))
    with pytest.raises(ModelLoadError, match=r"^refused traced.pt: it is a TorchScript archive, which runs code "
                       r"when loaded; save its weights with torch.save\(model.state_dict\(\)\)$"):
        load_model(FACTORY, path)


def test_registry_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("ATLAS_ALLOWED_FACTORY_MODULES", "atlas.compute.models.demo_cnn,no_such_module_xyz,builtins")
    assert {"inceptionv1", "demo", "demo-b"} <= set(list_architectures())
    with pytest.raises(NotFound, match="unknown architecture 'resnet9'"):
        get_architecture("resnet9")
    with pytest.raises(ModelLoadError, match="needs a weights file"):
        load_model("inceptionv1")
    with pytest.raises(ModelLoadError, match="cannot import factory"):
        load_model("no_such_module_xyz:build")
    with pytest.raises(ModelLoadError, match="not a torch.nn.Module"):
        load_model("builtins:dict")
    with pytest.raises(ModelLoadError, match="not found"):
        load_model(FACTORY, tmp_path / "absent.pt")
