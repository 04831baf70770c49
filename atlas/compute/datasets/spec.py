"""Datasets named by a JSON spec, so a job can carry "which images" in its parameters:
``{"kind": "synthetic", "n": 2000, "seed": 0, "size": 64}`` or
``{"kind": "folder", "path": "/data/imagenet-val", "size": 224}``.

Parsing and checking a spec imports no torch: the CLI and the app check a job's dataset
when they queue it (a bad spec is one line then, not a worker's traceback three retries
later); only ``open_dataset``, which a worker calls, loads the datasets themselves.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from atlas.errors import InvalidInput

if TYPE_CHECKING:
    from torch.utils.data import Dataset

MAX_SYNTHETIC_IMAGES = 1_000_000
MAX_SEED = 2**31 - 1
IMAGE_SIZES = (8, 4096)  # the pixel side a model's input may ask for
NUMBER_DIGITS = 12  # longer is absurd for any bound here: refused before int() reads it


def bounded_int(value: object, what: str, low: int, high: int) -> int:
    """``value`` as an int within [low, high], or one line naming ``what`` and the range
    (booleans, floats and numbers of absurd length are refused as they are)."""
    if isinstance(value, str):
        text = value.strip()
        if not text.lstrip("+-").isdigit() or len(text) > NUMBER_DIGITS:
            raise InvalidInput(f"{what} must be a whole number from {low:,} to {high:,}, not {value!r}")
        value = int(text)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"{what} must be a whole number from {low:,} to {high:,}, not {value!r}")
    return value


def parse_dataset(text: str, size: int) -> dict:
    """``synthetic:2000`` or ``folder:PATH`` (the CLI form) as a checked spec."""
    kind, _, rest = text.partition(":")
    if kind == "synthetic":
        return check_dataset({"kind": "synthetic", "n": bounded_int(rest or "2000", f"synthetic:N in {text!r}", 1,
                                                                    MAX_SYNTHETIC_IMAGES),
                              "seed": 0, "size": size})
    if kind == "folder" and rest:
        return check_dataset({"kind": "folder", "path": rest, "size": size})
    raise InvalidInput(f"invalid dataset {text!r}: use synthetic:N or folder:PATH")


def check_dataset(spec: object) -> dict:
    """The spec if a worker can open it: a known kind, bounded numbers, an existing folder."""
    if not isinstance(spec, dict):
        raise InvalidInput(f"a dataset spec must be an object, not {spec!r}")
    kind = spec.get("kind")
    fields = {"synthetic": {"kind", "n", "seed", "size"}, "folder": {"kind", "path", "size"}}
    if kind not in fields:
        raise InvalidInput(f"unknown dataset kind {kind!r}: use synthetic:N or folder:PATH")
    unknown = sorted(set(spec) - fields[kind])
    if unknown:
        raise InvalidInput(f"unknown fields {unknown} in the {kind} dataset spec")
    bounded_int(spec.get("size"), "dataset image size", *IMAGE_SIZES)
    if kind == "synthetic":
        bounded_int(spec.get("n"), "synthetic dataset size", 1, MAX_SYNTHETIC_IMAGES)
        bounded_int(spec.get("seed", 0), "synthetic dataset seed", 0, MAX_SEED)
    else:
        path = spec.get("path")
        if not isinstance(path, str) or not path or "\x00" in path:
            raise InvalidInput(f"a folder dataset needs a path, not {path!r}")
        if not Path(path).is_dir():
            raise InvalidInput(f"dataset folder {path!r} does not exist or is not a folder")
    return spec


def open_dataset(spec: dict) -> Dataset:
    check_dataset(spec)
    if spec["kind"] == "synthetic":
        from atlas.compute.datasets.synthetic import SyntheticShapes

        return SyntheticShapes(int(spec["n"]), seed=int(spec.get("seed", 0)), image_size=int(spec["size"]))
    from atlas.compute.datasets.folder import ImageFolder

    return ImageFolder(spec["path"], image_size=int(spec["size"]))
