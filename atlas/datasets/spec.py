"""Datasets named by a JSON spec, so a job can carry "which images" in its parameters:
``{"kind": "synthetic", "n": 2000, "seed": 0, "size": 64}`` or
``{"kind": "folder", "path": "/data/imagenet-val", "size": 224}``."""

from __future__ import annotations

from torch.utils.data import Dataset

from atlas.datasets.folder import ImageFolder
from atlas.datasets.synthetic import SyntheticShapes
from atlas.errors import InvalidInput


def parse_dataset(text: str, size: int) -> dict:
    """``synthetic:2000`` or ``folder:PATH`` (the CLI form) as a spec."""
    kind, _, rest = text.partition(":")
    if kind == "synthetic":
        try:
            return {"kind": "synthetic", "n": int(rest or 2000), "seed": 0, "size": size}
        except ValueError:
            raise InvalidInput(f"invalid dataset {text!r}: synthetic:N with N a number of images") from None
    if kind == "folder" and rest:
        return {"kind": "folder", "path": rest, "size": size}
    raise InvalidInput(f"invalid dataset {text!r}: use synthetic:N or folder:PATH")


def open_dataset(spec: dict) -> Dataset:
    if spec.get("kind") == "synthetic":
        return SyntheticShapes(int(spec["n"]), seed=int(spec.get("seed", 0)), image_size=int(spec["size"]))
    if spec.get("kind") == "folder":
        return ImageFolder(spec["path"], image_size=int(spec["size"]))
    raise InvalidInput(f"unknown dataset spec {spec!r}")
