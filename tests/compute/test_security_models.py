"""Hostile weights, factories and bundles: no code runs when a model is loaded.

- A TorchScript archive whose scripted ``__setstate__`` writes a file (``torch.from_file``
  with ``shared=True`` creates and writes it) is refused as weights; ``torch.jit.load``,
  which would run it, is never called.
- Workers check a model's weights against its registered sha256 before parsing them.
- ``module:factory`` architectures come only from modules an admin allows.
- A bundle's model rows are inert metadata (``os:abort`` as an architecture, a source into
  the blob store): workers refuse such a model with one line until an admin adopts it.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch
from tiny_models import tiny
from torch import nn

from atlas import Catalog
from atlas.cli import main
from atlas.compute.models import load_model
from atlas.compute.models.loading import ModelLoadError, WeightsMismatch, read_state_dict
from atlas.compute.registration import ModelCache, register_model
from atlas.errors import InvalidInput, PermissionDenied
from atlas.exchange.bundle.format import write_zip
from tests.snapshots import state

ROOT = Path(__file__).resolve().parents[2]
FACTORY = "atlas.compute.models.demo_cnn:DemoCNN"
SETTING = "ATLAS_ALLOWED_FACTORY_MODULES"
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.:DeprecationWarning")


class MarkerOnLoad(nn.Module):
    """Scripted, its ``__setstate__`` runs when ``torch.jit.load`` rebuilds the module:
    it creates ``marker`` and writes eight bytes into it."""

    def __init__(self, marker: str):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(2))
        self.marker = marker

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weight.sum()

    @torch.jit.export
    def __getstate__(self) -> tuple[torch.Tensor, str, bool]:
        return self.weight, self.marker, self.training

    @torch.jit.export
    def __setstate__(self, saved: tuple[torch.Tensor, str, bool]) -> None:
        self.weight = saved[0]
        self.marker = saved[1]
        written = torch.from_file(self.marker, shared=True, size=8, dtype=torch.uint8).fill_(33)
        self.training = bool(written.sum() > 0) and saved[2]  # used, so not dropped as dead code


@pytest.fixture
def hostile_archive(tmp_path: Path) -> tuple[Path, Path]:
    """(a TorchScript archive that writes a marker file when loaded, that marker's path)."""
    marker = tmp_path / "pwned"
    path = tmp_path / "script.pt"
    torch.jit.save(torch.jit.script(MarkerOnLoad(str(marker))), str(path))
    assert not marker.exists()
    return path, marker


def run_atlas(*args: str, factories: str | None = None, timeout: float = 240) -> subprocess.CompletedProcess:
    """``python -m atlas.cli ARGS`` in a fresh process (a crash there cannot take pytest
    with it), with the tests folder importable and the factory setting as given."""
    env = {k: v for k, v in os.environ.items() if k != SETTING}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "tests")])
    if factories is not None:
        env[SETTING] = factories
    return subprocess.run([sys.executable, "-m", "atlas.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def one_error_line(stderr: str) -> str:
    """The one error line a command printed last (after any progress bars), no traceback."""
    lines = stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("atlas: error: ")]
    assert errors == lines[-1:] and "Traceback" not in stderr, stderr[-3000:]
    return errors[0]


# -- TorchScript ---------------------------------------------------------------------------


def test_the_hostile_archive_really_runs_code_under_torch_jit_load(hostile_archive):
    path, marker = hostile_archive
    loaded = subprocess.run([sys.executable, "-c", f"import torch; torch.jit.load({str(path)!r})"],
                            capture_output=True, text=True, timeout=120)
    assert loaded.returncode == 0, loaded.stderr
    assert marker.read_bytes() == b"!" * 8


@pytest.mark.usefixtures("allow_test_factories")
@pytest.mark.parametrize("name", ["script.pt", "script.pth", "script.bin", "script.safetensors"])
def test_a_torchscript_archive_is_refused_and_its_code_never_runs(hostile_archive, name):
    path, marker = hostile_archive
    path = path.rename(path.with_name(name))
    with pytest.raises(ModelLoadError, match=rf"^refused {name}: it is a TorchScript archive, which runs code "
                       r"when loaded; save its weights with torch.save\(model.state_dict\(\)\)$"):
        load_model(FACTORY, path)
    with pytest.raises(ModelLoadError, match="TorchScript"):
        read_state_dict(path)
    assert not marker.exists()


def test_a_torch_save_file_in_a_folder_named_code_is_not_taken_for_torchscript(tmp_path):
    """``torch.save`` names the zip's root folder after the file: ``code.pt`` has code/…"""
    path = tmp_path / "code.pt"
    torch.save({"w": torch.ones(2)}, path)
    assert zipfile.ZipFile(path).namelist()[0].startswith("code/")
    assert torch.equal(read_state_dict(path)["w"], torch.ones(2))


def test_model_add_refuses_a_torchscript_archive_with_one_line(catalog: Catalog, db_url, blob_dir,
                                                                hostile_archive, capsys, monkeypatch):
    monkeypatch.setenv(SETTING, "atlas.compute.models")
    path, marker = hostile_archive
    before = state(catalog)
    assert main(["--db", db_url, "--blobs", blob_dir, "--user", "alice", "model", "add", "evil",
                 "--arch", FACTORY, "--weights", str(path)]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert "refused script.pt: it is a TorchScript archive" in line
    assert not marker.exists()
    assert state(catalog) == before


def test_an_expected_sha256_is_checked_before_the_file_is_parsed(tmp_path, hostile_archive):
    path, marker = hostile_archive
    with pytest.raises(WeightsMismatch, match=r"^script.pt has sha256 [0-9a-f]{12}…, not the expected "
                       r"000000000000…; it was not parsed$"):
        read_state_dict(path, expected_sha256="0" * 64)
    good = tmp_path / "good.pt"
    torch.save({"w": torch.ones(1)}, good)
    with pytest.raises(WeightsMismatch):
        load_model("demo", good, expected_sha256="0" * 64)
    assert not marker.exists()


@pytest.mark.usefixtures("allow_test_factories")
@pytest.mark.parametrize("swap", ["torchscript", "pickle"])
def test_a_worker_refuses_swapped_weights_before_parsing_them(catalog: Catalog, tmp_path, hostile_archive, swap):
    weights = tmp_path / "tiny.pt"
    torch.save(tiny().state_dict(), weights)
    register_model(catalog, "tiny", "tiny_models:tiny", weights)
    archive, marker = hostile_archive
    if swap == "torchscript":
        weights.write_bytes(archive.read_bytes())
    else:  # a pickle whose unpickling would create the marker file
        weights.write_bytes(pickle.dumps({"0.weight": _OpenOnUnpickle(str(marker))}))
    with pytest.raises(InvalidInput, match=r"^the weights of model 'tiny' have changed since it was registered: "
                       r"tiny.pt has sha256 .*; it was not parsed$"):
        ModelCache(catalog, "cpu").get("tiny")
    assert not marker.exists()


class _OpenOnUnpickle:
    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


# -- factories -----------------------------------------------------------------------------


def test_factories_need_the_setting_and_their_module_is_never_imported(tmp_path, monkeypatch):
    marker = tmp_path / "imported"
    (tmp_path / "hostile_factory_module.py").write_text(
        f"open({str(marker)!r}, 'w').close()\n\ndef build():\n    raise RuntimeError('called')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv(SETTING, raising=False)
    for spec in ("hostile_factory_module:build", "tiny_models:tiny", FACTORY):
        with pytest.raises(ModelLoadError, match=rf"^factory {spec} is not allowed: an admin allows its module "
                           rf"with the setting {SETTING} \(now empty\)$"):
            load_model(spec)
    monkeypatch.setenv(SETTING, "tiny, atlas.compute.models.demo, hostile")  # prefixes end at a dot
    for spec in ("hostile_factory_module:build", "tiny_models:tiny", FACTORY):
        with pytest.raises(ModelLoadError, match=r"is not allowed.*\(now tiny, atlas.compute.models.demo, hostile\)"):
            load_model(spec)
    assert not marker.exists() and "hostile_factory_module" not in sys.modules
    monkeypatch.setenv(SETTING, "tiny_models,atlas.compute.models.")
    assert isinstance(load_model("tiny_models:tiny")[0], nn.Sequential)
    assert load_model(FACTORY)[1].architecture == FACTORY


@pytest.mark.parametrize("spec, message", [
    ("torch.nn:Conv2d", r"^factory torch.nn:Conv2d failed: TypeError: "),
    ("torch.nn:Identity.forward", r"^invalid factory 'torch.nn:Identity.forward'"),
    ("torch.nn:nosuch", r"^cannot import factory torch.nn:nosuch: AttributeError"),
    ("torch.nn:functional", r"^torch.nn:functional is not callable$"),
])
def test_a_factory_that_is_not_a_model_class_fails_with_one_line(monkeypatch, spec, message):
    monkeypatch.setenv(SETTING, "torch.nn")
    with pytest.raises(ModelLoadError, match=message) as err:
        load_model(spec)
    assert "\n" not in str(err.value)


def test_a_factory_returning_something_else_than_a_module(monkeypatch):
    monkeypatch.setenv(SETTING, "builtins")
    with pytest.raises(ModelLoadError, match=r"^builtins:dict returned a dict, not a torch.nn.Module$"):
        load_model("builtins:dict")


def test_model_add_with_os_abort_is_refused_before_import(catalog: Catalog, db_url, blob_dir):
    before = state(catalog)
    done = run_atlas("--db", db_url, "--blobs", blob_dir, "--user", "alice", "model", "add", "evil",
                     "--arch", "os:abort", timeout=120)
    assert done.returncode == 1, (done.returncode, done.stderr[-2000:])
    assert one_error_line(done.stderr) == (f"atlas: error: factory os:abort is not allowed: an admin allows its "
                                           f"module with the setting {SETTING} (now empty)")
    assert state(catalog) == before


# -- bundles -------------------------------------------------------------------------------


@pytest.fixture
def lab_b(other_db_url: str, tmp_path: Path, allow_test_factories) -> Catalog:
    """Another lab's catalogue with a registered tiny model, a label and an artifact."""
    cat = Catalog.open(other_db_url, str(tmp_path / "lab-b-blobs"), user="olga")
    cat.add_user("olga", "admin")
    torch.manual_seed(1)
    weights = tmp_path / "lab-b-tiny.pt"
    torch.save(tiny().state_dict(), weights)
    register_model(cat, "tiny", "tiny_models:tiny", weights)
    cat.set_label("tiny/3/2", "red blobs")
    image = cat.blobs.put_bytes(b"not really a png")
    cat.add_artifact("tiny/3/2", "vis.channel", {"steps": 4}, {"image": image})
    yield cat
    cat.close()


def hostile_bundle(source: Catalog, row_changes: dict) -> bytes:
    """``source`` exported, its model rows changed and the manifest rewritten to match."""
    buffer = io.BytesIO()
    source.export_bundle(buffer, origin="lab-b")
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        members = {name: archive.read(name) for name in archive.namelist() if name != "manifest.json"}
    rows = [json.loads(line) for line in members["models.jsonl"].decode().splitlines()]
    members["models.jsonl"] = "".join(json.dumps({**row, **row_changes}) + "\n" for row in rows).encode()
    out = io.BytesIO()
    write_zip(out, members, origin="lab-b")
    return out.getvalue()


def compute_vis(db_url: str, blob_dir: str, user: str = "alice") -> subprocess.CompletedProcess:
    return run_atlas("--db", db_url, "--blobs", blob_dir, "--user", user, "compute", "vis", "--model", "tiny",
                     "--layer", "3", "--units", "0-1", "--size", "16", "--steps", "2", "--device", "cpu",
                     factories="tiny_models")


def test_an_imported_model_is_inert_until_an_admin_adopts_it(catalog: Catalog, lab_b: Catalog, db_url, blob_dir,
                                                             tmp_path, hostile_archive):
    archive, marker = hostile_archive
    planted = catalog.blobs.put_bytes(archive.read_bytes())  # a hostile file in our own blob store
    bundle = hostile_bundle(lab_b, {"architecture": "os:abort", "source": catalog.blobs.path(planted)})

    catalog.import_bundle(io.BytesIO(bundle))
    refused = compute_vis(db_url, blob_dir)
    assert refused.returncode == 1, (refused.returncode, refused.stderr[-3000:])  # not -6: no os.abort
    line = one_error_line(refused.stderr)
    assert "model 'tiny' was imported (bundle from lab-b, imported by alice on " in line
    assert "is not registered on this catalogue: an admin registers it with `atlas model add tiny" in line
    assert not marker.exists()
    assert catalog.jobs() == []  # refused when queued: no job for a worker to fail on
    imported = catalog.model("tiny")
    assert imported.origin.startswith("bundle from lab-b, imported by alice on ")
    assert imported.source is None and imported.architecture == "os:abort"
    assert [(l.name, l.channels) for l in catalog.layers("tiny")] == [("0", 4), ("3", 6), ("7", 2)]
    assert catalog.feature("tiny/3/2").label.text == "red blobs"
    assert len(catalog.artifacts("tiny/3/2", "vis.channel")) == 1
    with pytest.raises(InvalidInput, match=r"^model 'tiny' was imported "
                       r"\(bundle from lab-b, imported by alice on .*\) and "
                       r"is not registered on this catalogue: an admin registers it with "
                       r"`atlas model add tiny --arch ARCH --weights FILE`$"):
        ModelCache(catalog, "cpu").get("tiny")

    weights = tmp_path / "ours.pt"
    torch.save(tiny().state_dict(), weights)
    adopted = run_atlas("--db", db_url, "--blobs", blob_dir, "--user", "alice", "model", "add", "tiny",
                        "--arch", "tiny_models:tiny", "--weights", str(weights), factories="tiny_models")
    assert adopted.returncode == 0, adopted.stderr[-3000:]
    model = catalog.model("tiny")
    assert model.origin is None and model.architecture == "tiny_models:tiny"
    assert model.source == str(weights.resolve()) and model.weights_sha256
    entry = catalog.audit_log()[0]
    assert (entry.action, entry.user, entry.before["architecture"], entry.after["origin"]) == (
        "model.adopt", "alice", "os:abort", None)
    assert catalog.feature("tiny/3/2").label.text == "red blobs"  # kept

    done = compute_vis(db_url, blob_dir)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "2 new" in done.stdout
    assert catalog.artifacts("tiny/3/0", "vis.channel")


@pytest.fixture
def imported(catalog: Catalog, lab_b: Catalog) -> Catalog:
    """``catalog`` with lab B's tiny model imported (its architecture left as it was)."""
    catalog.import_bundle(io.BytesIO(hostile_bundle(lab_b, {})))
    assert catalog.model("tiny").origin is not None
    return catalog


def test_only_an_admin_adopts_an_imported_model(imported: Catalog, tmp_path):
    weights = tmp_path / "ours.pt"
    torch.save(tiny().state_dict(), weights)
    before = state(imported)
    with pytest.raises(PermissionDenied, match="cannot register imported models"):
        register_model(imported, "tiny", "tiny_models:tiny", weights, author="carl")
    assert state(imported) == before


@pytest.mark.parametrize("arch, problem", [
    ("tiny_models:tiny_wide", "3 has 6 channels in the catalogue, 8 here"),
    (FACTORY, "not in the model loaded here: 0, 3, 7; not in the imported model: conv1, conv2"),
])
def test_adopting_with_other_layers_changes_nothing(imported: Catalog, arch, problem):
    before = state(imported)
    with pytest.raises(InvalidInput, match=rf"^the layers of model 'tiny' do not match the imported ones: .*{problem}"):
        register_model(imported, "tiny", arch)
    assert state(imported) == before


def test_a_registered_model_is_not_adopted_again(catalog: Catalog, tmp_path, allow_test_factories):
    weights = tmp_path / "tiny.pt"
    torch.save(tiny().state_dict(), weights)
    register_model(catalog, "tiny", "tiny_models:tiny", weights)
    before = state(catalog)
    with pytest.raises(InvalidInput, match="a model named 'tiny' already exists"):
        register_model(catalog, "tiny", "tiny_models:tiny", weights)
    with pytest.raises(InvalidInput, match="a model named 'tiny' already exists"):
        catalog.adopt_model("tiny", "tiny_models:tiny", [], None, None, None)
    assert state(catalog) == before


def test_a_worker_refuses_a_model_without_a_weights_hash_unless_the_atlas_ships_it(catalog: Catalog,
                                                                                   allow_test_factories):
    catalog.add_model("bare", "tiny_models:tiny", layers=[{"name": "3", "kind": "conv", "channels": 6}])
    with pytest.raises(InvalidInput, match=r"^model 'bare' has no weights hash and no architecture the atlas "
                       r"ships, so its weights cannot be checked"):
        ModelCache(catalog, "cpu").get("bare")
    catalog.add_model("shipped", "demo", layers=[{"name": "conv1", "kind": "conv", "channels": 8}])
    assert isinstance(ModelCache(catalog, "cpu").get("shipped"), nn.Module)  # the shipped demo weights
