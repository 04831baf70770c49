"""Untrusted image uploads (evidence images): accepted only as clean PNG bytes.

An uploaded file is attacker-controlled. It is accepted only if it is a PNG or JPEG under
a byte limit whose header declares at most ``max_pixels`` pixels (checked before any pixel
is decoded, so a small file that would expand to gigabytes, a decompression bomb, is
refused without allocating it). It is then decoded in full by Pillow and re-encoded as
PNG: what gets stored is pixels we produced, never the uploaded bytes (no metadata, no
trailing payloads, no polyglot files).
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from atlas.db.blobs import encode_png
from atlas.errors import InvalidInput

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000  # about 6300 x 6300
FORMATS = ("PNG", "JPEG")
STORED_MODES = ("L", "LA", "RGB", "RGBA")


def clean_image(data: bytes, max_bytes: int = MAX_UPLOAD_BYTES, max_pixels: int = MAX_PIXELS) -> bytes:
    """PNG bytes re-encoded from an uploaded PNG or JPEG; InvalidInput with a message a
    researcher can act on for anything else."""
    if not data:
        raise InvalidInput("the uploaded file is empty")
    if len(data) > max_bytes:
        raise InvalidInput(
            f"the image is {len(data) / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(io.BytesIO(data), formats=FORMATS)
            width, height = image.size
            if width * height > max_pixels:
                raise InvalidInput(_bomb_message(f"{width} x {height} pixels ({width * height / 1e6:.0f} megapixels)",
                                                 max_pixels))
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow refuses before our own check can read the size; say it in our words.
        declared = f"more than {(Image.MAX_IMAGE_PIXELS or 0) / 1e6:.0f} megapixels"
        raise InvalidInput(_bomb_message(declared, max_pixels)) from None
    except UnidentifiedImageError:
        raise InvalidInput("the file is not a PNG or JPEG image") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidInput(f"the image could not be decoded: {exc}") from None
    image = ImageOps.exif_transpose(image)
    if image.mode not in STORED_MODES:
        image = image.convert("RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB")
    return encode_png(image)


def _bomb_message(declared: str, max_pixels: int) -> str:
    return (f"the image declares {declared}; the limit is {max_pixels / 1e6:.0f} megapixels, which guards "
            f"against decompression bombs")
