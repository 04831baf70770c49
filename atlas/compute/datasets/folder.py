"""A folder of PNG/JPEG images as a dataset, robust to files that should not be decoded.

Every file is checked once, when the dataset is built: the header first (format and pixel
count, so a decompression bomb is refused before a single pixel is decoded), then a full
decode (a truncated or corrupt file fails here, not in the middle of a long job). Bad files
are skipped and counted in one warning; ``skipped`` keeps each one with its reason. Indices
are stable for a given folder content (files are sorted), so a dataset example can be
found again by index.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from atlas.errors import InvalidInput

EXTENSIONS = (".png", ".jpg", ".jpeg")
FORMATS = ("PNG", "JPEG")


class SkippedImagesWarning(UserWarning):
    """Some files of an image folder were skipped (corrupt, too large, not an image)."""


def _check(path: Path, max_pixels: int, max_bytes: int) -> str | None:
    """None if ``path`` is a usable image, else why not."""
    if path.stat().st_size > max_bytes:
        return "too large (bytes)"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                if im.format not in FORMATS:
                    return f"not PNG/JPEG ({im.format})"
                if im.width * im.height > max_pixels:
                    return "too large (pixels)"
                im.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return "too large (pixels)"
    except Exception:  # noqa: BLE001 - Pillow raises many types for broken data
        return "corrupt"
    return None


def fit(im: Image.Image, size: int) -> Image.Image:
    """Resize the shorter side to ``size`` and crop the centre square."""
    scale = size / min(im.size)
    w, h = max(size, round(im.width * scale)), max(size, round(im.height * scale))
    im = im.resize((w, h), Image.Resampling.BILINEAR)
    left, top = (w - size) // 2, (h - size) // 2
    return im.crop((left, top, left + size, top + size))


def to_tensor(rgb: Image.Image) -> torch.Tensor:
    """An RGB image as a 3 x H x W float tensor in [0, 1]."""
    return torch.from_numpy(np.asarray(rgb, dtype=np.float32) / 255.0).permute(2, 0, 1).contiguous()


class ImageFolder(Dataset):
    """Images under ``root`` (recursive), as ``(image, index)`` with ``image`` a 3 x size x
    size float tensor in [0, 1] (RGB; shorter side resized, centre cropped).

    ``max_pixels`` and ``max_bytes`` bound what is decoded at all.
    """

    def __init__(self, root: str | Path, image_size: int = 224, max_pixels: int = 40_000_000,
                 max_bytes: int = 50_000_000,
                 transform: Callable[[torch.Tensor], torch.Tensor] | None = None):
        root = Path(root)
        if not root.is_dir():
            raise InvalidInput(f"image folder not found: {root}")
        self.root, self.image_size, self.transform = root, image_size, transform
        files = sorted(p for p in root.rglob("*")
                       if p.is_file() and p.suffix.lower() in EXTENSIONS)
        self.paths: list[Path] = []
        self.skipped: list[tuple[Path, str]] = []
        for path in files:
            reason = _check(path, max_pixels, max_bytes)
            if reason is None:
                self.paths.append(path)
            else:
                self.skipped.append((path, reason))
        if self.skipped:
            counts = Counter(reason for _, reason in self.skipped)
            detail = ", ".join(f"{n} {reason}" for reason, n in sorted(counts.items()))
            warnings.warn(f"skipped {len(self.skipped)} of {len(files)} images in {root}: "
                          f"{detail}", SkippedImagesWarning, stacklevel=2)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        with Image.open(self.paths[index]) as im:
            img = to_tensor(fit(im.convert("RGB"), self.image_size))
        return (self.transform(img) if self.transform else img), index
