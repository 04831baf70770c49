import os

import numpy as np
import pytest
from PIL import Image

from atlas.db.blobs import BlobCorrupted, BlobMissing, BlobStore, sha256_hex
from atlas.errors import InvalidInput


def test_png_round_trip_and_content_addressing(tmp_path):
    store = BlobStore(str(tmp_path / "blobs"))
    image = (np.random.default_rng(0).random((16, 24, 3)) * 255).astype(np.uint8)
    sha = store.put_png(image)
    assert sha == store.put_png(image)  # same content, same name, stored once
    assert np.array_equal(np.asarray(store.get_png(sha)), image)
    assert sha256_hex(store.get_bytes(sha)) == sha
    files = [f for _, _, fs in os.walk(tmp_path / "blobs") for f in fs]
    assert files == [sha]  # no temp files left behind


def test_float_images_are_clipped_to_unit_range(tmp_path):
    store = BlobStore(str(tmp_path))
    sha = store.put_png(np.array([[[-1.0, 0.5, 2.0]]]))
    assert np.asarray(store.get_png(sha)).tolist() == [[[0, 128, 255]]]


def test_array_round_trip_keeps_dtype_and_shape(tmp_path):
    store = BlobStore(str(tmp_path))
    kernel = np.arange(2 * 3 * 5 * 5, dtype=np.float16).reshape(2, 3, 5, 5)
    back = store.get_array(store.put_array(kernel))
    assert back.dtype == np.float16 and np.array_equal(back, kernel)


def test_object_arrays_are_refused(tmp_path):
    with pytest.raises(InvalidInput, match="object arrays"):
        BlobStore(str(tmp_path)).put_array(np.array([{"a": 1}], dtype=object))


def test_corrupted_blob_is_detected_on_read(tmp_path):
    store = BlobStore(str(tmp_path))
    sha = store.put_bytes(b"hello kernels")
    with open(store.path(sha), "wb") as handle:
        handle.write(b"hello kernelz")
    with pytest.raises(BlobCorrupted, match=f"blob {sha} .* corrupted"):
        store.get_bytes(sha)


def test_missing_blob_is_a_clear_error(tmp_path):
    store = BlobStore(str(tmp_path))
    with pytest.raises(BlobMissing, match="missing"):
        store.get_bytes("0" * 64)
    with pytest.raises(InvalidInput, match="not a sha256"):
        store.get_bytes("../../etc/passwd")


def test_any_fsspec_url(tmp_path):
    store = BlobStore("memory://atlas-test-blobs")
    sha = store.put_png(Image.new("RGB", (4, 4), (255, 0, 0)))
    assert store.exists(sha)
    assert store.get_png(sha).getpixel((0, 0)) == (255, 0, 0)
    local = BlobStore(f"file://{tmp_path}/viaurl")
    assert local.get_bytes(local.put_bytes(b"x")) == b"x"
