"""A model's input spec (issue 17, item 1): its input shape, the preprocessing that is part
of it, and the modules chosen as its layers.

The preprocessing is checked end to end on a real network with batch norm
(``tiny_models.bn_net``): registered with ``--mean/--std`` it must compute, on every path
a registered model is run on (capture, dataset examples, feature visualization,
attribution, tuning, experiments), what the same network computes with the normalization
folded into its first convolution (``fold_normalization``, exact: that conv is
unpadded), and not what it computes without it.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sqlalchemy import update
from sqlalchemy.orm import Session
from tiny_models import NORM_MEAN, NORM_STD, bn_net, bn_net_state, fixed64, fold_normalization

from atlas import Catalog
from atlas.cli import main
from atlas.compute.capture import capture
from atlas.compute.input_spec import check_input_spec, named, normalize, scale
from atlas.compute.models import discover_layers, load_model
from atlas.compute.models.preprocess import attach_preprocessing
from atlas.compute.registration import ModelCache, load_registered, register_model
from atlas.compute.run import run_jobs
from atlas.db.models import Model
from atlas.errors import InvalidInput
from tests.snapshots import state

pytestmark = pytest.mark.usefixtures("allow_test_factories")
ARCH = "tiny_models:bn_net"
SIZE = 32
LAYERS = ["stem.2", "block.*"]  # a ReLU, and a conv, a batch norm and a ReLU
NORM = normalize(NORM_MEAN, NORM_STD)


@pytest.fixture
def weights(tmp_path):
    """(the network's weights, the same with the normalization folded in)."""
    state_dict = bn_net_state()
    plain, folded = tmp_path / "bn.pt", tmp_path / "bn-folded.pt"
    torch.save(state_dict, plain)
    torch.save(fold_normalization(state_dict), folded)
    return plain, folded


@pytest.fixture
def twins(catalog: Catalog, weights) -> Catalog:
    """``norm`` (preprocessed), ``folded`` (the same function, no preprocessing) and
    ``raw`` (``norm``'s weights without its preprocessing)."""
    plain, folded = weights
    shape = (3, SIZE, SIZE)
    register_model(catalog, "norm", ARCH, plain, input_shape=shape, preprocess=NORM, layers=LAYERS)
    register_model(catalog, "folded", ARCH, folded, input_shape=shape, layers=LAYERS)
    register_model(catalog, "raw", ARCH, plain, input_shape=shape, layers=LAYERS)
    return catalog


def images(n: int = 6) -> torch.Tensor:
    return torch.rand(n, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(3))


def test_a_model_registered_with_mean_and_std_computes_on_normalized_images(twins: Catalog):
    x = images()
    by_hand = (x - torch.tensor(NORM_MEAN)[:, None, None]) / torch.tensor(NORM_STD)[:, None, None]
    norm, raw, folded = (load_registered(twins, name, "cpu") for name in ("norm", "raw", "folded"))
    layers = ["stem.2", "block.2", "head"]
    got = capture(norm, layers, x)
    want = capture(raw, layers, by_hand)
    for layer in layers:
        torch.testing.assert_close(got[layer], want[layer])
        torch.testing.assert_close(got[layer], capture(folded, layers, x)[layer], rtol=1e-4, atol=1e-5)
        assert not torch.allclose(got[layer], capture(raw, layers, x)[layer], atol=1e-2)  # it matters
    spec = twins.model("norm").input_spec
    assert spec["shape"] == [3, SIZE, SIZE] and spec["preprocess"] == NORM and spec["layers"] == LAYERS
    assert "preprocess" not in twins.model("raw").input_spec


def test_the_preprocessing_keeps_module_names_and_gradients_reach_the_image():
    model = bn_net().eval()
    before = [name for name, _ in model.named_modules()]
    attach_preprocessing(model, named("imagenet"))
    assert [name for name, _ in model.named_modules()] == before
    assert set(model.state_dict()) == set(bn_net().state_dict())  # nothing added to the weights
    image = torch.full((1, 3, SIZE, SIZE), 0.5, requires_grad=True)
    model(image).sum().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0
    with pytest.raises(InvalidInput, match="already has its preprocessing"):
        attach_preprocessing(model, named("imagenet"))


@pytest.mark.parametrize("preprocess, x, expected", [
    (scale(-1, 1), 0.25, -0.5),
    (scale(0, 255), 0.5, 127.5),
    (named("imagenet"), 0.485, 0.0),
])
def test_scale_and_imagenet_map_pixels_as_documented(preprocess, x, expected):
    probe = torch.nn.Identity()
    attach_preprocessing(probe, preprocess)
    out = probe(torch.full((1, 3, 2, 2), x))
    assert out[0, 0, 0, 0].item() == pytest.approx(expected, abs=1e-6)


def _cli(catalog: Catalog, db_url: str, blob_dir: str, *args: str) -> int:
    return main(["--db", db_url, "--blobs", blob_dir, "--user", "alice", *args])


def _examples(catalog: Catalog, address: str) -> list[tuple[int, float]]:
    [found] = catalog.dataset_examples(address)
    return [(item.index, item.value) for item in found.top]


def _vis(catalog: Catalog, address: str) -> np.ndarray:
    [artifact] = catalog.artifacts(address, "vis.channel")
    return np.asarray(catalog.blobs.get_png(artifact.blobs["image"]), dtype=np.float32)


def _attribution(catalog: Catalog, address: str) -> dict[str, float]:
    return {edge.src.split("/", 1)[1]: edge.net for edge in catalog.top_inputs(address, 100, kind="attribution")}


def _tuning(catalog: Catalog, address: str) -> np.ndarray:
    [artifact] = catalog.artifacts(address, "tuning_curve")
    return catalog.blobs.get_array(artifact.blobs["curve"])


def test_every_job_path_runs_the_model_with_its_preprocessing(twins: Catalog, db_url, blob_dir, capsys):
    """Dataset examples, feature visualization, attribution and tuning, each queued and run
    by a worker as a user would: the preprocessed model gives the folded model's results
    (and not the raw model's)."""
    for name in ("norm", "folded", "raw"):
        common = ["--model", name, "--device", "cpu"]
        assert _cli(twins, db_url, blob_dir, "compute", "examples", *common, "--layer", "block.2", "--units", "0-3",
                    "-k", "4", "--dataset", "synthetic:24") == 0
        assert _cli(twins, db_url, blob_dir, "compute", "vis", *common, "--layer", "block.2", "--units", "1",
                    "--size", str(SIZE), "--steps", "8") == 0
        assert _cli(twins, db_url, blob_dir, "compute", "attribution", *common,
                    "--pair", "stem.2:block.2", "-k", "6", "--dataset", "synthetic:8") == 0
        assert _cli(twins, db_url, blob_dir, "compute", "tuning", *common, "--layer", "block.2", "--units", "0-1",
                    "--sweep", "hue", "--steps", "6") == 0
    capsys.readouterr()
    for unit in (0, 3):
        norm, folded, raw = (_examples(twins, f"{m}/block.2/{unit}") for m in ("norm", "folded", "raw"))
        assert [i for i, _ in norm] == [i for i, _ in folded]
        assert [v for _, v in norm] == pytest.approx([v for _, v in folded], rel=1e-4, abs=1e-5)
        assert [v for _, v in norm] != pytest.approx([v for _, v in raw], rel=1e-2)
    norm, folded, raw = (_vis(twins, f"{m}/block.2/1") for m in ("norm", "folded", "raw"))
    assert np.abs(norm - folded).max() <= 2  # the same optimization, up to float rounding in 8 steps
    assert np.abs(norm - raw).max() > 8
    norm, folded, raw = (_attribution(twins, f"{m}/block.2/2") for m in ("norm", "folded", "raw"))
    assert norm.keys() == folded.keys() and norm
    assert [norm[k] for k in norm] == pytest.approx([folded[k] for k in norm], rel=1e-3, abs=1e-6)
    assert [norm[k] for k in norm] != pytest.approx([raw.get(k, 0.0) for k in norm], rel=1e-2)
    norm, folded, raw = (_tuning(twins, f"{m}/block.2/0") for m in ("norm", "folded", "raw"))
    np.testing.assert_allclose(norm, folded, rtol=1e-4, atol=1e-5)
    assert not np.allclose(norm[:, 1], raw[:, 1], rtol=1e-2)


def test_an_experiment_runs_the_model_with_its_preprocessing(twins: Catalog):
    measured = {}
    for name in ("norm", "folded", "raw"):
        twins.create_circuit(f"c-{name}", "stem unit 0 drives block unit 0")
        spec = {"intervention": {"kind": "ablate_units", "units": [f"{name}/stem.2/0"], "mode": "zero"},
                "stimuli": {"sweep": "orientation", "steps": 4, "samples": 3, "size": SIZE},
                "measure": {"unit": f"{name}/block.2/0", "reduce": "mean"},
                "prediction": [{"condition": "0", "op": "<=", "value": -0.01}]}
        claim = twins.add_claim(f"c-{name}", "zeroing stem unit 0 lowers block unit 0", spec).claims[0].id
        run_jobs(twins, twins.enqueue_experiments(f"c-{name}"), ["experiment"], "cpu")
        [result] = twins.claim_results(claim)
        measured[name] = [c["measured"] for c in result.result["comparisons"]]
        assert None not in measured[name], result.result["summary"]
    assert measured["norm"] == pytest.approx(measured["folded"], rel=1e-3, abs=1e-6)
    assert measured["norm"] != pytest.approx(measured["raw"], rel=1e-2)


# -- choosing layers -------------------------------------------------------------------------


def test_layer_globs_select_exactly_the_matched_modules(twins: Catalog):
    layers = twins.layers("norm")
    assert [(l.name, l.kind, l.channels, l.spatial_shape) for l in layers] == [
        ("stem.2", "activation", 6, (30, 30)), ("block.0", "conv", 8, (30, 30)),
        ("block.1", "norm", 8, (30, 30)), ("block.2", "activation", 8, (30, 30))]
    model = bn_net().eval()
    assert [l.name for l in discover_layers(model, (3, SIZE, SIZE), ["block"])] == ["block"]
    assert discover_layers(model, (3, SIZE, SIZE), ["block"])[0].kind == "block"
    assert [l.name for l in discover_layers(model, (3, SIZE, SIZE), ["*.2", "head"])] == ["stem.2", "block.2", "head"]
    assert [l.name for l in discover_layers(model, (3, SIZE, SIZE))] == ["stem.0", "block.0", "head"]  # default


@pytest.mark.parametrize("patterns, message", [
    (["conv1", "nothing.*", "neither"], "layer patterns match no module: nothing.*, neither "
                                         r"\(`atlas model layers` lists the modules\)$"),
    (["relu"], r"a layer must run once per forward pass .*: relu \(2 times\)$"),
    (["pair"], r"a layer must output a tensor with channels; these do not: pair \(a tuple\)$"),
    (["conv1; rm -rf /"], "invalid layer pattern"),
    ([f"conv{i}" for i in range(65)], "at most 64 layer patterns, not 65"),
    ([], "layer patterns must be a non-empty list"),
])
def test_layer_patterns_that_cannot_be_layers_register_nothing(catalog: Catalog, patterns, message):
    before = state(catalog)
    with pytest.raises(InvalidInput, match=message):
        register_model(catalog, "shared", "tiny_models:shared_relu", layers=patterns)
    assert state(catalog) == before


def test_an_unsupported_pair_is_refused_with_one_line(twins: Catalog, db_url, blob_dir, capsys):
    """Direct weights need a convolution that reads one layer and writes the other: a batch
    norm layer is written by none."""
    code = _cli(twins, db_url, blob_dir, "compute", "connections", "--model", "norm",
                "--pair", "stem.2:block.1", "--device", "cpu")
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and "Traceback" not in "\n".join(err)
    assert "no convolution reads stem.2 and writes block.1" in err[-1]


# -- input shape -------------------------------------------------------------------------------


def test_a_fixed_input_shape_model_registers_with_its_shape_and_fails_in_one_line_without(catalog: Catalog,
                                                                                       tmp_path):
    weights = tmp_path / "fixed.pt"
    torch.save(fixed64().state_dict(), weights)
    before = state(catalog)
    with pytest.raises(InvalidInput, match=r"^a forward pass on an input of shape \(3, 224, 224\) failed: "
                                           r"RuntimeError: mat1 and mat2 shapes cannot be multiplied") as refused:
        register_model(catalog, "fixed", "tiny_models:fixed64", weights)
    assert "\n" not in str(refused.value)
    assert state(catalog) == before
    register_model(catalog, "fixed", "tiny_models:fixed64", weights, input_shape=(3, 64, 64))
    assert catalog.model("fixed").input_spec["shape"] == [3, 64, 64] and catalog.model("fixed").input_size == 64
    assert [(l.name, l.channels) for l in catalog.layers("fixed")] == [("0", 4), ("3", 3)]
    assert ModelCache(catalog, "cpu").get("fixed")(torch.rand(2, 3, 64, 64)).shape == (2, 3)


def test_the_model_cache_loads_again_when_the_input_spec_changes(catalog: Catalog, weights):
    """A cached model carries its preprocessing, so a changed spec is another model."""
    register_model(catalog, "norm", ARCH, weights[0], input_shape=(3, SIZE, SIZE), preprocess=NORM)
    cache = ModelCache(catalog, "cpu")
    first = cache.get("norm")
    assert cache.get("norm") is first
    _set_spec(catalog, "norm", {**catalog.model("norm").input_spec, "preprocess": scale(-1, 1)})
    assert cache.get("norm") is not first


def _set_spec(catalog: Catalog, name: str, spec: dict) -> None:
    """Write a model's input spec straight to its row, as a shared database could hold it."""
    with Session(catalog.engine) as session, session.begin():
        session.execute(update(Model).where(Model.name == name).values(input_spec=spec))


MALFORMED_SPECS = [
    ({"shape": [3, 64]}, "input shape must be"),
    ({"shape": [3, 10**9, 10**9]}, "input shape must be a whole number from 1 to 4,096"),
    ({"shape": "3,64,64"}, "input shape must be"),
    ({"preprocess": {"mean": [0, 0, 0], "std": [1, 0, 1]}}, "std must be positive"),
    ({"preprocess": {"scale": [1, -1]}}, "A must be less than B"),
    ({"preprocess": {"code": "import os"}}, "preprocess must be"),
    ({"layers": "*"}, "layer patterns must be a non-empty list"),
    ({"classes": [1, 2]}, "classes must be a list"),
    ({"value_range": [0, 255]}, "input value range must be"),
]


@pytest.mark.parametrize("spec, message", [
    *MALFORMED_SPECS,
    ({"preprocess": {"mean": [float("nan"), 0, 0], "std": [1, 1, 1]}}, "input spec is not plain JSON"),
    ({"preprocess": {"mean": [0, 0, 0], "std": [1, 1, float("inf")]}}, "input spec is not plain JSON"),
])
def test_a_malformed_spec_is_one_line(spec, message):
    with pytest.raises(InvalidInput, match=message):
        check_input_spec(spec)


@pytest.mark.parametrize("spec, message", MALFORMED_SPECS)  # PostgreSQL's json cannot hold NaN at all
def test_a_malformed_stored_spec_is_refused_before_a_worker_runs_the_model(catalog: Catalog, weights, spec, message):
    register_model(catalog, "norm", ARCH, weights[0], input_shape=(3, SIZE, SIZE))
    _set_spec(catalog, "norm", spec)
    with pytest.raises(InvalidInput, match=message):
        ModelCache(catalog, "cpu").get("norm")


def test_shipped_architectures_keep_their_shapes():
    model, info = load_model("demo")
    assert info.input_shape == (3, 64, 64)
    assert [l.name for l in discover_layers(model, info.input_shape, ["conv*.act"])] == [
        f"conv{i}.act" for i in range(1, 6)]


def test_chosen_layers_of_any_kind_have_their_pre_activation_where_it_is():
    """A ReLU layer's pre-activation is its input; a block's, the input of the ReLU it ends
    with (here the batch norm's output): objectives and statistics read those."""
    model = bn_net().eval()
    model.load_state_dict(bn_net_state())
    pre = capture(model, ["block", "block.1", "stem.2", "stem.1"], images(2), site="pre")
    torch.testing.assert_close(pre["block"], pre["block.1"])
    torch.testing.assert_close(pre["stem.2"], pre["stem.1"])
    assert (pre["stem.2"] < 0).any()  # before the ReLU, not after it


def test_attribution_reaches_a_chosen_linear_layer():
    """A linear destination has no spatial axes: one position. Through average pooling,
    ``head``'s unit u gets W[u, c] times the mean of block.2's channel c from each source
    channel, averaged over the images."""
    from atlas.compute.connections.attribution import attribution_matrix

    model = bn_net().eval()
    model.load_state_dict(bn_net_state())
    x = images(4)
    mean, positive, negative = attribution_matrix(model, "block.2", "head", list(zip(x, range(4))))
    acts = capture(model, ["block.2"], x)["block.2"]
    expected = model.head.weight * acts.mean(dim=(0, 2, 3))[None, :]
    torch.testing.assert_close(mean, expected, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(positive - negative, mean, rtol=1e-4, atol=1e-6)
