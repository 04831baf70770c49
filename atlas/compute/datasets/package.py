"""The photographs an installed Python package ships, as a dataset: real images without a
network or a folder to copy (scikit-image ships 26 under ``skimage/data``: a cat, coffee,
an astronaut, a rocket, ...).

The package's directory is found without importing it (``package_spec.package_directory``)
and its PNG/JPEG files are checked as an image folder's are. Item ``i`` below the number of
distinct images is image ``i``, centre-cropped; items beyond it are augmented views of
image ``i mod distinct``: a random square crop of 35-100 % of the shorter side at a random
place, mirrored half of the time, drawn from ``(seed, i)`` alone, so an item is the same
under any batching. Augmented views are correlated with their source image: a dataset of
2,000 items from 26 photographs is 26 scenes, not 2,000.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from atlas.compute.datasets.folder import ImageFolder, to_tensor
from atlas.compute.datasets.package_spec import package_directory
from atlas.errors import InvalidInput

CROP_SCALE = (0.35, 1.0)  # side of an augmented crop, as a fraction of the image's shorter side


def augmented_view(im: Image.Image, rng: np.random.Generator, size: int) -> Image.Image:
    """A random square crop of ``im`` (``CROP_SCALE`` of its shorter side), mirrored with
    probability 1/2, resized to ``size``."""
    side = max(1, round(min(im.size) * rng.uniform(*CROP_SCALE)))
    left = int(rng.integers(0, im.width - side + 1))
    top = int(rng.integers(0, im.height - side + 1))
    view = im.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.BILINEAR)
    return view.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if rng.random() < 0.5 else view


class PackageImages(Dataset):
    """``length`` items (default: one per distinct image) from the images of installed
    package ``package``, as ``(image, index of the source image)``; ``image`` is a 3 x size x
    size float tensor in [0, 1]."""

    def __init__(self, package: str, image_size: int = 224, length: int | None = None, seed: int = 0):
        self.folder = ImageFolder(package_directory(package), image_size=image_size)
        self.distinct = len(self.folder)
        if self.distinct == 0:
            raise InvalidInput(f"package {package!r} ships no PNG or JPEG images")
        self.package, self.image_size, self.seed = package, image_size, seed
        self.length = self.distinct if length is None else length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        if not 0 <= index < self.length:
            raise IndexError(index)
        source = index % self.distinct
        if index < self.distinct:
            return self.folder[source]
        rng = np.random.default_rng((self.seed, index))
        with Image.open(self.folder.paths[source]) as im:
            view = augmented_view(im.convert("RGB"), rng, self.image_size)
        return to_tensor(view), source
