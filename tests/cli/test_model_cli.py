"""`atlas model add` with an input shape, preprocessing and chosen layers, and `atlas model
layers` listing what a model offers: real models, real databases, hostile option values."""

from __future__ import annotations

import pytest
import torch
from tiny_models import bn_net_state, fixed64

from atlas import Catalog
from atlas.cli import main
from tests.snapshots import state

pytestmark = pytest.mark.usefixtures("allow_test_factories")


@pytest.fixture
def cli(catalog: Catalog, db_url: str, blob_dir: str, capsys):
    """Runs `atlas --db … ARGS` in-process and returns (exit code, stdout, stderr)."""

    def invoke(*args: str) -> tuple[int, str, str]:
        code = main(["--db", db_url, "--blobs", blob_dir, "--user", "alice", *args])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


@pytest.fixture
def bn_weights(tmp_path):
    path = tmp_path / "bn.pt"
    torch.save(bn_net_state(), path)
    return str(path)


def table(out: str) -> list[list[str]]:
    """The rows of a printed table (after its title line), split on runs of spaces."""
    return [line.split() for line in out.strip().splitlines()[1:]]


def test_model_add_records_shape_preprocessing_and_layers(cli, catalog: Catalog, bn_weights):
    code, out, err = cli("model", "add", "bn", "--arch", "tiny_models:bn_net", "--weights", bn_weights,
                         "--input-shape", "3,40,40", "--preprocess", "imagenet", "--layers", "stem.2", "block.*")
    assert code == 0, err
    assert out.splitlines()[0] == "registered bn (tiny_models:bn_net) with 4 layers, input 3x40x40, " \
                                  "preprocessing imagenet:"
    assert [line.split()[:3] for line in out.splitlines()[1:]] == [
        ["stem.2", "activation", "6"], ["block.0", "conv", "8"], ["block.1", "norm", "8"],
        ["block.2", "activation", "8"]]
    spec = catalog.model("bn").input_spec
    assert spec["shape"] == [3, 40, 40] and spec["layers"] == ["stem.2", "block.*"]
    assert spec["preprocess"] == {"name": "imagenet", "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}

    code, out, _ = cli("model", "add", "scaled", "--arch", "tiny_models:bn_net", "--weights", bn_weights,
                       "--input-shape", "3,40,40", "--scale=-1,1")
    assert code == 0 and "preprocessing scale -1,1:" in out.splitlines()[0]
    assert catalog.model("scaled").input_spec["preprocess"] == {"scale": [-1.0, 1.0]}
    code, out, _ = cli("model", "add", "custom", "--arch", "tiny_models:bn_net", "--weights", bn_weights,
                       "--input-shape", "3,40,40", "--mean", "0.5,0.5,0.5", "--std", "0.25,0.25,0.25")
    assert code == 0 and "preprocessing mean 0.5,0.5,0.5 std 0.25,0.25,0.25:" in out.splitlines()[0]


def test_model_layers_lists_an_unregistered_model_before_choosing(cli, catalog: Catalog):
    code, out, err = cli("model", "layers", "--arch", "tiny_models:bn_net", "--input-shape", "3,32,32")
    assert code == 0, err
    assert out.splitlines()[0] == ("tiny_models:bn_net: input 3x32x32, preprocessing none; 11 modules run, "
                                   "3 are layers (default)")
    rows = table(out)
    assert rows[0] == ["module", "type", "kind", "output", "channels", "layer"]
    assert rows[1:] == [
        ["stem.0", "Conv2d", "conv", "6x30x30", "6", "layer"], ["stem.1", "BatchNorm2d", "norm", "6x30x30", "6"],
        ["stem.2", "ReLU", "activation", "6x30x30", "6"], ["stem", "Sequential", "block", "6x30x30", "6"],
        ["block.0", "Conv2d", "conv", "8x30x30", "8", "layer"], ["block.1", "BatchNorm2d", "norm", "8x30x30", "8"],
        ["block.2", "ReLU", "activation", "8x30x30", "8"], ["block", "Sequential", "block", "8x30x30", "8"],
        ["pool", "AdaptiveAvgPool2d", "pool", "8x1x1", "8"], ["flat", "Flatten", "module", "8", "8"],
        ["head", "Linear", "linear", "4", "4", "layer"],
    ]
    code, out, _ = cli("model", "layers", "--arch", "tiny_models:bn_net", "--input-shape", "3,32,32",
                       "--layers", "*.2")
    assert code == 0 and "2 are layers (--layers)" in out.splitlines()[0]
    assert [row[0] for row in table(out)[1:] if row[-1] == "layer"] == ["stem.2", "block.2"]
    code, out, _ = cli("model", "layers", "--arch", "tiny_models:shared_relu", "--input-shape", "3,16,16")
    assert code == 0
    assert ["relu", "ReLU", "activation", "4x16x16", "4", "(runs", "2x)"] in table(out)
    assert ["pair", "_Pair", "module", "tuple", "-"] in table(out)
    assert catalog.models() == []  # listing registers nothing


def test_model_layers_lists_a_registered_model_with_its_layers(cli, bn_weights):
    assert cli("model", "add", "bn", "--arch", "tiny_models:bn_net", "--weights", bn_weights,
               "--input-shape", "3,32,32", "--mean", "0.5,0.5,0.5", "--std", "0.2,0.2,0.2",
               "--layers", "block.*")[0] == 0
    code, out, err = cli("model", "layers", "bn")
    assert code == 0, err
    assert out.splitlines()[0] == ("bn: input 3x32x32, preprocessing mean 0.5,0.5,0.5 std 0.2,0.2,0.2; "
                                   "11 modules run, 3 are layers (registered)")
    assert [row[0] for row in table(out)[1:] if row[-1] == "layer"] == ["block.0", "block.1", "block.2"]
    code, _, err = cli("model", "layers", "bn", "--input-shape", "3,64,64")
    assert code == 1 and err.startswith("atlas: error: --input-shape describe a model to register")


def test_a_fixed_shape_model_needs_its_input_shape(cli, catalog: Catalog, tmp_path):
    weights = tmp_path / "fixed.pt"
    torch.save(fixed64().state_dict(), weights)
    code, _, err = cli("model", "add", "fixed", "--arch", "tiny_models:fixed64", "--weights", str(weights))
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert err.startswith("atlas: error: a forward pass on an input of shape (3, 224, 224) failed: RuntimeError: ")
    assert catalog.models() == []
    code, _, err = cli("model", "layers", "--arch", "tiny_models:fixed64")
    assert code == 1 and "shape (3, 224, 224) failed" in err and len(err.strip().splitlines()) == 1
    code, out, err = cli("model", "add", "fixed", "--arch", "tiny_models:fixed64", "--weights", str(weights),
                         "--input-shape", "3,64,64")
    assert code == 0, err
    assert "input 3x64x64" in out and catalog.model("fixed").input_size == 64


HOSTILE = [
    (("--input-shape", "3,224"), 1, "input shape needs three comma-separated numbers C,H,W"),
    (("--input-shape", "3,0,0"), 1, "input shape must be a whole number from 1 to 4,096, not 0"),
    (("--input-shape", "3,-5,-5"), 1, "input shape must be a whole number"),
    (("--input-shape", "3,1e9,1e9"), 1, "input shape must be a whole number"),
    (("--input-shape", "3," + "9" * 5000 + ",9"), 1, "input shape must be a whole number"),
    (("--input-shape", "3,64,48"), 1, "the atlas feeds square images, so H and W must be equal"),
    (("--input-shape", "4,64,64"), 1, "the atlas feeds RGB images, so C must be 3"),
    (("--input-shape", "3,4,4"), 1, "sides must be from 8 to 4096 pixels"),
    (("--mean", "0.5,0.5", "--std", "1,1,1"), 1, "--mean needs 3 comma-separated numbers, not '0.5,0.5'"),
    (("--mean", "nan,0,0", "--std", "1,1,1"), 1, "--mean must be finite numbers"),
    (("--mean", "0,0,0", "--std", "inf,1,1"), 1, "--std must be finite numbers"),
    (("--mean", "0,0,0", "--std", "1,0,1"), 1, "std must be positive"),
    (("--mean", "0,0,0", "--std", "1,-1,1"), 1, "std must be positive"),
    (("--mean", "0,0,0", "--std", "1,1,1e300"), 1, "--std must be finite numbers of at most 1e+06"),
    (("--mean", "0,0,0"), 1, "--mean and --std go together"),
    (("--std", "1,1,1"), 1, "--mean and --std go together"),
    (("--scale", "1,-1"), 1, "A must be less than B"),
    (("--scale", "0,x"), 1, "--scale must be finite numbers"),
    (("--scale", "0,1,2"), 1, "--scale needs 2 comma-separated numbers"),
    (("--preprocess", "imagenet", "--scale", "0,1"), 2, "not allowed with argument"),
    (("--preprocess", "os.system"), 2, "invalid choice"),
    (("--layers", "stem.0; rm -rf ~"), 1, "invalid layer pattern"),
    (("--layers", "x" * 201), 1, "invalid layer pattern"),
    (("--layers", *[f"m{i}" for i in range(65)]), 1, "at most 64 layer patterns, not 65"),
    (("--layers", "nothing"), 1, "layer patterns match no module: nothing"),
]


@pytest.mark.parametrize("options, code, message", HOSTILE, ids=[str(i) for i in range(len(HOSTILE))])
def test_hostile_options_are_one_line_and_change_nothing(cli, catalog: Catalog, bn_weights, capsys, options, code,
                                                         message):
    before = state(catalog)
    args = ("model", "add", "bn", "--arch", "tiny_models:bn_net", "--weights", bn_weights, *options)
    if code == 2:  # a usage error: argparse exits with its usage and one error line
        with pytest.raises(SystemExit) as usage:
            cli(*args)
        assert usage.value.code == 2
        err = capsys.readouterr().err
        assert err.strip().splitlines()[-1].startswith("atlas model add: error: ") and message in err, err
    else:
        got, out, err = cli(*args)
        assert got == 1 and message in err, err
        assert err.startswith("atlas: error: ") and len(err.strip().splitlines()) == 1 and out == ""
    assert "Traceback" not in err
    assert state(catalog) == before
