"""Evidence image uploads: only clean PNG or JPEG gets through, re-encoded as PNG."""

import io

import pytest
from hostile_images import png_declaring
from PIL import Image

from atlas.catalog.uploads import clean_image
from atlas.errors import InvalidInput


def encoded(fmt: str, size=(8, 6), mode="RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, 128).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_png_and_jpeg_are_reencoded_as_png(fmt: str):
    out = clean_image(encoded(fmt) + b"trailing payload")
    image = Image.open(io.BytesIO(out))
    assert (image.format, image.size) == ("PNG", (8, 6))
    assert b"trailing payload" not in out


def test_palette_and_cmyk_images_are_stored_as_rgb():
    assert Image.open(io.BytesIO(clean_image(encoded("JPEG", mode="CMYK")))).mode == "RGB"
    assert Image.open(io.BytesIO(clean_image(encoded("PNG", mode="P")))).mode == "RGB"


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"<svg onload=alert(1)>", "not a PNG or JPEG"),
    (encoded("GIF"), "not a PNG or JPEG"),
    (encoded("PNG", size=(64, 64))[:-30], "could not be decoded"),
], ids=["empty", "svg", "gif", "truncated"])
def test_other_files_are_refused(data: bytes, message: str):
    with pytest.raises(InvalidInput, match=message):
        clean_image(data)


def test_size_limit():
    with pytest.raises(InvalidInput, match="the limit is"):
        clean_image(encoded("PNG"), max_bytes=10)


def test_decompression_bomb_is_refused_before_decoding_in_our_words():
    """Pillow refuses the largest headers itself (over its own MAX_IMAGE_PIXELS); the
    researcher still reads our message, not Pillow's ("Image size (...) exceeds limit")."""
    with pytest.raises(InvalidInput, match=r"^the image declares more than 89 megapixels; the limit is 40 "
                       r"megapixels, which guards against decompression bombs$"):
        clean_image(png_declaring(100_000, 100_000))
    with pytest.raises(InvalidInput, match=r"^the image declares 8000 x 8000 pixels \(64 megapixels\); the limit "
                       r"is 40 megapixels"):
        clean_image(png_declaring(8_000, 8_000))
    with pytest.raises(InvalidInput, match=r"declares 100 x 100 pixels .*the limit is 0 megapixels"):
        clean_image(encoded("PNG", size=(100, 100)), max_pixels=9_999)
