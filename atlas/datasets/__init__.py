"""Datasets the atlas streams through models: procedural shapes and folders of images.

Both yield ``(image, int)`` items with ``image`` a 3xHxW float tensor in [0, 1], the input
convention of every atlas model.
"""

from atlas.datasets.folder import ImageFolder, SkippedImagesWarning
from atlas.datasets.synthetic import CLASSES, SyntheticShapes

__all__ = ["CLASSES", "ImageFolder", "SkippedImagesWarning", "SyntheticShapes"]
