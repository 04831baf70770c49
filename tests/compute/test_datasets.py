"""Synthetic images (deterministic, balanced, what they claim to draw) and image folders
(bad files skipped and counted)."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from atlas.compute.datasets import CLASSES, ImageFolder, SkippedImagesWarning, SyntheticShapes
from atlas.compute.datasets import synthetic as syn
from atlas.errors import InvalidInput


def test_synthetic_is_deterministic_by_seed_and_index():
    a, b = SyntheticShapes(30, seed=3), SyntheticShapes(30, seed=3)
    for i in (0, 7, 29):
        assert torch.equal(a[i][0], b[i][0]) and a[i][1] == b[i][1]
    assert not torch.equal(a[5][0], SyntheticShapes(30, seed=4)[5][0])


def test_synthetic_items_and_balance():
    ds = SyntheticShapes(2 * len(CLASSES), seed=0, image_size=32)
    image, _ = ds[0]
    assert image.shape == (3, 32, 32) and image.dtype == torch.float32
    assert 0 <= image.min() and image.max() <= 1
    assert sorted(ds[i][1] for i in range(len(ds))) == sorted(list(range(len(CLASSES))) * 2)
    with pytest.raises(IndexError):
        ds[len(ds)]


def _lum(img: np.ndarray) -> np.ndarray:
    return img.mean(axis=2)


def test_line_and_edge_follow_their_angle():
    fg, bg = np.ones(3, np.float32), np.zeros(3, np.float32)
    horizontal = _lum(syn.line(64, 0.0, 0, 0, 40, 2, fg, bg))
    assert horizontal[32, 16:48].min() > 0.9 and horizontal[10, :].max() == 0
    vertical = _lum(syn.line(64, np.pi / 2, 0, 0, 40, 2, fg, bg))
    assert vertical[16:48, 32].min() > 0.9 and vertical[:, 10].max() == 0
    step = _lum(syn.edge(64, 0.0, 0, 0, fg, bg))  # fg above the horizontal boundary
    assert step[:30].min() == 1 and step[34:].max() == 0


def test_arc_curve_and_circle():
    fg, bg = np.ones(3, np.float32), np.zeros(3, np.float32)
    ring = _lum(syn.arc(64, 0, 0, 15, 0.0, 2 * np.pi, 2, fg, bg))
    ys, xs = np.nonzero(ring > 0.5)
    radii = np.hypot(xs + 0.5 - 32, ys + 0.5 - 32)
    assert abs(radii.mean() - 15) < 0.5 and len(xs) > 100
    half = _lum(syn.arc(64, 0, 0, 15, 0.0, np.pi, 2, fg, bg))  # the right half only
    assert half[:, 40:].sum() > 0 and half[:, :30].sum() == 0


def test_high_low_frequency_sides_differ_in_frequency():
    img = _lum(syn.high_low_frequency(64, 0.0, 0, 0, 3.0, 20.0, (0.0, 0.0), 0.3,
                                      np.full(3, 0.5, np.float32)))
    top, bottom = img[4:28], img[36:60]  # high frequency on the -v side (top)
    assert np.abs(np.diff(top, axis=1)).mean() > 3 * np.abs(np.diff(bottom, axis=1)).mean()


def test_facing_shapes_are_mirror_images():
    fg, bg = np.ones(3, np.float32), np.zeros(3, np.float32)
    right = syn.facing_shape(64, 0, 0, 8, 1, 0.2, fg, bg)
    left = syn.facing_shape(64, 0, 0, 8, -1, 0.2, fg, bg)
    np.testing.assert_allclose(left, right[:, ::-1], atol=1e-5)
    lum = _lum(right)
    centroid_x = (lum * (np.arange(64) + 0.5 - 32)).sum() / lum.sum()
    assert centroid_x > 1  # the snout points right


def _png_header_bomb(path, size=60_000):
    """A PNG whose header claims size x size RGB pixels, with almost no data."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    ihdr = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def test_image_folder_skips_bad_files_with_a_counting_warning(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 255, (40, 60, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "a.png")
    (tmp_path / "sub").mkdir()
    Image.fromarray(rgb).save(tmp_path / "sub" / "b.JPG")
    Image.fromarray(np.zeros((80, 80, 3), np.uint8)).save(tmp_path / "big.png")
    good = (tmp_path / "a.png").read_bytes()
    (tmp_path / "truncated.png").write_bytes(good[: len(good) // 2])
    (tmp_path / "garbage.jpg").write_bytes(b"not an image at all")
    _png_header_bomb(tmp_path / "bomb.png")
    (tmp_path / "notes.txt").write_text("ignored")
    with pytest.warns(SkippedImagesWarning, match=r"skipped 4 of 6 images") as record:
        ds = ImageFolder(tmp_path, image_size=32, max_pixels=3000)
    message = str(record[0].message)
    assert "2 corrupt" in message and "2 too large (pixels)" in message
    assert [p.name for p in ds.paths] == ["a.png", "b.JPG"]
    image, index = ds[1]
    assert image.shape == (3, 32, 32) and index == 1 and 0 <= image.min() <= image.max() <= 1


def test_image_folder_needs_a_folder(tmp_path):
    with pytest.raises(InvalidInput, match="image folder not found"):
        ImageFolder(tmp_path / "nope")
