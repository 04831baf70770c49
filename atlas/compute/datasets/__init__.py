"""Datasets the atlas streams through models: procedural shapes, folders of images and the
images an installed package ships.

All yield ``(image, int)`` items with ``image`` a 3xHxW float tensor in [0, 1], the input
convention of every atlas model. The classes are imported on first use, so that
``atlas.compute.datasets.spec`` (checking a job's dataset when it is queued) needs no torch.
"""

from importlib import import_module

_EXPORTS = {"CLASSES": "synthetic", "SyntheticShapes": "synthetic",
            "ImageFolder": "folder", "SkippedImagesWarning": "folder",
            "PackageImages": "package"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'atlas.compute.datasets' has no attribute {name!r}")
    return getattr(import_module(f"atlas.compute.datasets.{_EXPORTS[name]}"), name)
