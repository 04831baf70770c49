"""A model's input spec (shape, preprocessing, layer patterns) travels in bundles as inert
metadata: well formed or the bundle is refused, never run, and used only when an admin
adopts the model here."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
import torch
from tiny_models import bn_net_state

from atlas import Catalog
from atlas.compute.input_spec import normalize
from atlas.compute.models.preprocess import preprocessing_of
from atlas.compute.registration import ModelCache, register_model
from atlas.errors import InvalidInput
from atlas.exchange.bundle.format import BundleError, write_zip
from tests.snapshots import state

SPEC_LAYERS = ["stem.2", "block.*"]
NORM = normalize((0.1, 0.2, 0.3), (0.5, 0.6, 0.7))


@pytest.fixture
def lab_b(other_db_url: str, tmp_path, allow_test_factories) -> Catalog:
    """Another lab's catalogue with a model registered with preprocessing and chosen layers."""
    cat = Catalog.open(other_db_url, str(tmp_path / "lab-b-blobs"), user="olga")
    cat.add_user("olga", "admin")
    weights = tmp_path / "lab-b-bn.pt"
    torch.save(bn_net_state(), weights)
    register_model(cat, "bn", "tiny_models:bn_net", weights, input_shape=(3, 32, 32), preprocess=NORM,
                   layers=SPEC_LAYERS)
    cat.set_label("bn/block.2/1", "warm colours")
    yield cat
    cat.close()


def bundle_of(source: Catalog, **spec_changes: object) -> bytes:
    """``source`` exported, its model rows' input spec changed and the manifest rewritten
    to match (an internally consistent hostile bundle)."""
    buffer = io.BytesIO()
    source.export_bundle(buffer, origin="lab-b")
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        members = {name: archive.read(name) for name in archive.namelist() if name != "manifest.json"}
    rows = [json.loads(line) for line in members["models.jsonl"].decode().splitlines()]
    for row in rows:
        row["input_spec"] = spec_changes.pop("whole") if "whole" in spec_changes else {**row["input_spec"],
                                                                                       **spec_changes}
    members["models.jsonl"] = "".join(json.dumps(row) + "\n" for row in rows).encode()
    out = io.BytesIO()
    write_zip(out, members, origin="lab-b")
    return out.getvalue()


def test_the_spec_arrives_inert_and_an_adopting_admin_gets_the_same_layers(catalog: Catalog, lab_b: Catalog,
                                                                           tmp_path):
    catalog.import_bundle(io.BytesIO(bundle_of(lab_b)))
    imported = catalog.model("bn")
    assert imported.input_spec == lab_b.model("bn").input_spec
    assert imported.input_spec["preprocess"] == NORM and imported.input_spec["layers"] == SPEC_LAYERS
    with pytest.raises(InvalidInput, match="model 'bn' was imported"):
        ModelCache(catalog, "cpu").get("bn")

    weights = tmp_path / "ours.pt"
    torch.save(bn_net_state(), weights)
    register_model(catalog, "bn", "tiny_models:bn_net", weights)  # no options: the imported spec's
    adopted = catalog.model("bn")
    assert adopted.origin is None and adopted.input_spec == lab_b.model("bn").input_spec
    assert [l.name for l in catalog.layers("bn")] == ["stem.2", "block.0", "block.1", "block.2"]
    assert catalog.feature("bn/block.2/1").label.text == "warm colours"
    model = ModelCache(catalog, "cpu").get("bn")
    assert preprocessing_of(model) == NORM and model(torch.rand(2, 3, 32, 32)).shape == (2, 4)


@pytest.mark.parametrize("changes, reason", [
    ({"shape": [3, 10**12, 10**12]}, "input shape must be a whole number"),
    ({"shape": "__import__('os')"}, "input shape must be"),
    ({"preprocess": {"mean": [0, 0, 0], "std": [0, 0, 0]}}, "std must be positive"),
    ({"preprocess": {"mean": [0, 0, 0], "std": [1, 1, 1], "name": "os:system"}}, "unknown preprocessing name"),
    ({"preprocess": {"factory": "os:system"}}, "preprocess must be"),
    ({"layers": ["../../etc"] * 2 + ["$(rm -rf /)"]}, "invalid layer pattern"),
    ({"layers": [f"m{i}" for i in range(500)]}, "at most 64 layer patterns"),
    ({"classes": "everything"}, "classes must be a list"),
    ({"color": "CMYK"}, "input color must be RGB"),
    ({"whole": ["not", "an", "object"]}, "input spec must be a JSON object"),
])
def test_a_hostile_input_spec_refuses_the_bundle_and_changes_nothing(catalog: Catalog, lab_b: Catalog, changes,
                                                                     reason):
    before = state(catalog)
    refusal = rf"models\.jsonl row \d+: model 'bn' has an invalid input spec: {reason}"
    with pytest.raises(BundleError, match=refusal) as e:
        catalog.import_bundle(io.BytesIO(bundle_of(lab_b, **changes)))
    assert "\n" not in str(e.value)
    assert state(catalog) == before


def test_a_spec_with_a_non_finite_number_is_refused(catalog: Catalog, lab_b: Catalog):
    """JSON lines may carry NaN (Python's reader accepts it): refused, not stored."""
    before = state(catalog)
    with pytest.raises(BundleError, match="invalid input spec: input spec is not plain JSON"):
        catalog.import_bundle(io.BytesIO(bundle_of(lab_b, preprocess={"mean": [float("nan"), 0, 0],
                                                                      "std": [1, 1, 1]})))
    assert state(catalog) == before
