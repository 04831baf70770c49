"""The ``package`` dataset kind: the photographs an installed package ships (scikit-image's
26), found without running the package's code, augmented deterministically up to ``n``;
hostile package names refused in one line."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from atlas.compute.datasets import ImageFolder, PackageImages
from atlas.compute.datasets.package_spec import package_directory
from atlas.compute.datasets.spec import check_dataset, open_dataset, parse_dataset
from atlas.errors import InvalidInput

SKIMAGE_PHOTOS = 26  # PNG/JPEG files in scikit-image 0.26.0's skimage/data (a project dependency)


def test_the_cli_form_is_parsed_into_a_checked_spec():
    assert parse_dataset("package:skimage", 224) == {"kind": "package", "package": "skimage", "seed": 0, "size": 224}
    assert parse_dataset("package:skimage:2000", 64)["n"] == 2000


def test_scikit_image_s_photographs_are_the_distinct_items():
    data = open_dataset(parse_dataset("package:skimage", 96))
    assert isinstance(data, PackageImages) and len(data) == data.distinct == SKIMAGE_PHOTOS
    folder = ImageFolder(package_directory("skimage"), image_size=96)
    assert {p.name for p in folder.paths} >= {"chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg"}
    for i in (0, 25):
        image, source = data[i]
        assert source == i and torch.equal(image, folder[i][0]) and image.shape == (3, 96, 96)


def test_items_beyond_the_photographs_are_seeded_augmented_views():
    data = PackageImages("skimage", 64, length=100, seed=3)
    again = PackageImages("skimage", 64, length=100, seed=3)
    other = PackageImages("skimage", 64, length=100, seed=4)
    image, source = data[53]
    assert source == 53 - 2 * SKIMAGE_PHOTOS
    assert image.shape == (3, 64, 64) and 0 <= float(image.min()) and float(image.max()) <= 1
    assert torch.equal(image, again[53][0])
    assert not torch.equal(image, other[53][0])
    views = torch.stack([data[i][0] for i in range(SKIMAGE_PHOTOS, 2 * SKIMAGE_PHOTOS)])
    plain = torch.stack([data[i][0] for i in range(SKIMAGE_PHOTOS)])
    assert [data[i][1] for i in range(SKIMAGE_PHOTOS, 2 * SKIMAGE_PHOTOS)] == list(range(SKIMAGE_PHOTOS))
    assert not torch.equal(views, plain)
    with pytest.raises(IndexError):
        data[100]


@pytest.mark.parametrize("name, why", [
    ("../etc", "top-level import name"), ("os.path", "top-level import name"), ("", "top-level import name"),
    ("a b", "top-level import name"), ("ｓkimage", "top-level import name"), ("x" * 101, "top-level import name"),
    ("__import__('os')", "top-level import name"), ("no_such_package_for_atlas", "not installed"),
    ("sys", "not a package with one directory"), ("__main__", "cannot look up|not a package"),
])
def test_hostile_package_names_are_refused_in_one_line(name, why):
    with pytest.raises(InvalidInput, match=why):
        parse_dataset(f"package:{name}", 64)


@pytest.mark.parametrize("spec, why", [
    ({"kind": "package", "package": 5, "size": 64}, "top-level import name"),
    ({"kind": "package", "package": None, "size": 64}, "top-level import name"),
    ({"kind": "package", "package": "skimage", "size": 64, "n": 0}, "package dataset size"),
    ({"kind": "package", "package": "skimage", "size": 64, "seed": -1}, "package dataset seed"),
    ({"kind": "package", "package": "skimage", "size": 64, "path": "/etc"}, "unknown fields"),
])
def test_hostile_specs_are_refused(spec, why):
    with pytest.raises(InvalidInput, match=why):
        check_dataset(spec)


def test_a_package_without_images_is_refused_when_opened():
    with pytest.raises(InvalidInput, match="package 'json' ships no PNG or JPEG images"):
        open_dataset(parse_dataset("package:json", 64))


def test_the_package_s_code_never_runs(tmp_path, monkeypatch):
    """A package whose ``__init__`` would write a marker: its image is used, the marker is
    never written."""
    package = tmp_path / "booby_trapped_photos"
    package.mkdir()
    marker = tmp_path / "ran"
    (package / "__init__.py").write_text(f"open({str(marker)!r}, 'w').write('imported')\n")
    Image.fromarray(np.full((40, 50, 3), 200, np.uint8)).save(package / "photo.png")
    monkeypatch.syspath_prepend(str(tmp_path))
    data = open_dataset(parse_dataset("package:booby_trapped_photos:3", 32))
    assert len(data) == 3 and data.distinct == 1 and data[2][0].shape == (3, 32, 32)
    assert not marker.exists()
