"""`atlas direction …` and direction compute end to end: a registered hand-built model,
directions from a file, a difference of means and a factorization (run as jobs), their
visualizations and dataset examples stored under the direction's address; hostile vector
files refused with one line, the catalogue unchanged."""

import json

import numpy as np
import pytest
import torch
from tiny_models import COLOURS, SPREAD_CHANNELS, spread_direction, write_colour_blobs, yellow_direction

from atlas import Catalog
from atlas.catalog.vector_file import MAX_VECTOR_FILE_BYTES
from atlas.cli import main
from atlas.compute.registration import register_model
from atlas.errors import InvalidInput

pytestmark = pytest.mark.usefixtures("allow_test_factories")
LAYER = "spread/2"


@pytest.fixture
def spread(catalog: Catalog, tmp_path) -> Catalog:
    path = tmp_path / "spread.pt"
    torch.save(spread_direction().state_dict(), path)
    register_model(catalog, "spread", "tiny_models:spread_direction", path)
    return catalog


@pytest.fixture
def cli(db_url, blob_dir):
    def run(*args: str) -> int:
        return main(["--db", db_url, "--blobs", blob_dir, "--user", "alice", *args])
    return run


def _hostile_files(folder) -> dict[str, object]:
    """Each file a direction must not be made from, and why."""
    files = {}
    for name, content in {
        "short.json": json.dumps([1.0, 2.0]),
        "nan.json": "[1, 2, NaN, 0, 0, 0]",
        "inf.json": "[1, 2, Infinity, 0, 0, 0]",
        "overflow.json": json.dumps([1e39, 0, 0, 0, 0, 0]),
        "bigint.json": "[" + "9" * 400 + ", 0, 0, 0, 0, 0]",
        "strings.json": json.dumps(["1", "2", "3", "4", "5", "6"]),
        "bools.json": json.dumps([True, False, True, False, True, False]),
        "nested.json": json.dumps([[1, 2, 3, 4, 5, 6]]),
        "object.json": json.dumps({"vector": [1, 2, 3, 4, 5, 6]}),
        "broken.json": "[1, 2,",
        "vector.txt": "1 2 3 4 5 6",
    }.items():
        (folder / name).write_text(content)
        files[name] = folder / name
    np.save(folder / "pickled.npy", np.array([object(), 1, 2, 3, 4, 5], dtype=object), allow_pickle=True)
    np.save(folder / "matrix.npy", np.ones((2, SPREAD_CHANNELS), np.float32))
    np.save(folder / "nan.npy", np.array([np.nan, 0, 0, 0, 0, 0], np.float32))
    np.save(folder / "strings.npy", np.array(["a", "b", "c", "d", "e", "f"]))
    (folder / "garbage.npy").write_bytes(b"\x93NUMPY\x01\x00not a header at all")
    (folder / "huge.json").write_text("[" + "0," * (MAX_VECTOR_FILE_BYTES // 2) + "0]")
    for name in ("pickled.npy", "matrix.npy", "nan.npy", "strings.npy", "garbage.npy", "huge.json"):
        files[name] = folder / name
    files["missing.json"] = folder / "missing.json"
    files["a-folder.json"] = folder / "a-folder.json"
    (folder / "a-folder.json").mkdir()
    return files


def test_hostile_vector_files_are_refused_with_one_line(spread: Catalog, cli, tmp_path, capsys):
    for name, path in _hostile_files(tmp_path).items():
        assert cli("direction", "add", LAYER, "bad", str(path)) == 1, name
        err = capsys.readouterr().err.strip()
        assert err.startswith("atlas: error: ") and "\n" not in err and "Traceback" not in err, (name, err)
    assert spread.directions(LAYER) == []
    with pytest.raises(InvalidInput, match="finite numbers, not NaN"):
        spread.add_direction_bytes(LAYER, "bad", b"[1, 2, NaN, 0, 0, 0]", "upload.json")
    assert spread.directions(LAYER) == []


def test_direction_from_file_then_its_vis_and_examples_as_jobs(spread: Catalog, cli, tmp_path, capsys):
    np.save(tmp_path / "yellow.npy", yellow_direction())
    assert cli("direction", "add", LAYER, "yellow", str(tmp_path / "yellow.npy")) == 0
    (tmp_path / "e0.json").write_text(json.dumps([1, 0, 0, 0, 0, 0]))
    assert cli("direction", "add", LAYER, "e0", str(tmp_path / "e0.json")) == 0
    assert cli("direction", "add", LAYER, "yellow", str(tmp_path / "e0.json")) == 1  # a taken name
    assert "already has a direction 'yellow'" in capsys.readouterr().err
    assert np.allclose(spread.direction_vector(f"{LAYER}/dir:yellow"), yellow_direction())
    assert cli("direction", "list", LAYER) == 0
    assert capsys.readouterr().out.split() == [f"{LAYER}/dir:e0", f"{LAYER}/dir:yellow"]

    colours = write_colour_blobs(tmp_path / "images", per_colour=3, size=24)
    assert cli("compute", "examples", "--model", "spread", "--layer", "2", "--directions", "yellow,e0",
               "-k", "3", "--dataset", f"folder:{tmp_path / 'images'}", "--device", "cpu") == 0
    examples = spread.artifacts(f"{LAYER}/dir:yellow", "examples")[0]
    records = spread.blobs.get_array(examples.blobs["records"])
    assert [colours[i] for i in records[0]["index"]] == ["yellow"] * 3
    assert spread.artifacts("spread/2/0", "examples") == []  # only the directions were asked for
    assert cli("compute", "vis", "--model", "spread", "--layer", "2", "--directions", "yellow", "--units", "0",
               "--size", "16", "--steps", "4", "--cossim-pow", "2", "--device", "cpu") == 0
    assert "done: 2 new" in capsys.readouterr().out
    vis = spread.artifacts(f"{LAYER}/dir:yellow", "vis.channel")[0]
    assert vis.params["cossim_pow"] == 2.0 and spread.blobs.get_png(vis.blobs["image"]).size == (16, 16)
    assert "cossim_pow" not in spread.artifacts("spread/2/0", "vis.channel")[0].params
    assert cli("compute", "vis", "--model", "spread", "--layer", "2", "--directions", "nope") == 1
    assert "unknown feature spread/2/dir:nope" in capsys.readouterr().err


def test_directions_from_a_difference_and_a_factorization(spread: Catalog, cli, tmp_path, capsys):
    colours = write_colour_blobs(tmp_path / "all", per_colour=3, size=24)
    for folder, keep in (("with", {"yellow"}), ("without", set(COLOURS) - {"yellow"})):
        (tmp_path / folder).mkdir()
        for path in sorted((tmp_path / "all").iterdir()):
            if path.name.split("_")[0] in keep:
                (tmp_path / folder / path.name).write_bytes(path.read_bytes())
    assert cli("direction", "diff", LAYER, "yellowness", "--a", f"folder:{tmp_path / 'with'}",
               "--b", f"folder:{tmp_path / 'without'}", "--device", "cpu") == 0
    vector = spread.direction_vector(f"{LAYER}/dir:yellowness")
    assert (vector[:3] > 0).all() and (vector[3:] < 0).all()
    assert cli("direction", "nmf", LAYER, "--n", "4", "--dataset", f"folder:{tmp_path / 'all'}",
               "--device", "cpu") == 0
    assert f"added {LAYER}/dir:nmf4-0" in capsys.readouterr().out
    names = [d.direction for d in spread.directions(LAYER)]
    assert names == ["nmf4-0", "nmf4-1", "nmf4-2", "nmf4-3", "yellowness"]
    cosines = [float(spread.direction_vector(f"{LAYER}/dir:{n}") @ yellow_direction()) for n in names[:4]]
    assert max(cosines) > 0.99, cosines
    assert cli("direction", "nmf", LAYER, "--n", "4", "--dataset", f"folder:{tmp_path / 'all'}") == 1
    assert "already has directions" in capsys.readouterr().err
    made = spread.audit_log(f"{LAYER}/dir:nmf4-0")
    assert [e.action for e in made] == ["feature.add_direction"] and made[0].after["kind"] == "directions.nmf"
    assert len(colours) == 12
