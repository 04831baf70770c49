"""Evidence image uploads: only clean PNG or JPEG gets through, re-encoded as PNG."""

import io
import struct
import zlib

import pytest
from PIL import Image

from atlas.catalog.uploads import clean_image
from atlas.errors import InvalidInput


def encoded(fmt: str, size=(8, 6), mode="RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, 128).save(buffer, format=fmt)
    return buffer.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge image: a decompression bomb's signature."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


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


def test_decompression_bomb_is_refused_before_decoding():
    with pytest.raises(InvalidInput, match="decompression bomb"):
        clean_image(png_declaring(100_000, 100_000))
    with pytest.raises(InvalidInput, match="decompression bomb"):
        clean_image(encoded("PNG", size=(100, 100)), max_pixels=9_999)
