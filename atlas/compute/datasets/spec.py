"""Datasets named by a JSON spec, so a job can carry "which images" in its parameters:
``{"kind": "synthetic", "n": 2000, "seed": 0, "size": 64}``,
``{"kind": "folder", "path": "/data/imagenet-val", "size": 224}`` or
``{"kind": "package", "package": "skimage", "n": 2000, "seed": 0, "size": 224}`` (the
images an installed package ships, augmented up to ``n``: ``atlas.compute.datasets.package``).

Parsing and checking a spec imports no torch: the CLI and the app check a job's dataset
when they queue it (a bad spec is one line then, not a worker's traceback three retries
later); only ``open_dataset``, which a worker calls, loads the datasets themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from atlas.compute.datasets.package_spec import package_directory
from atlas.errors import InvalidInput
from atlas.registry import Registry

if TYPE_CHECKING:
    from torch.utils.data import Dataset

MAX_SYNTHETIC_IMAGES = 1_000_000
MAX_SEED = 2**31 - 1
IMAGE_SIZES = (8, 4096)  # the pixel side a model's input may ask for
NUMBER_DIGITS = 12  # longer is absurd for any bound here: refused before int() reads it
DATASET_FORMS = "synthetic:N, folder:PATH or package:NAME[:N]"


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


@dataclass(frozen=True)
class DatasetKind:
    """One kind of dataset spec: its fields, how the CLI form ``kind:REST`` reads, what a
    spec must satisfy beyond ``kind``/``size``, and how a worker opens one. ``open``
    imports the dataset code (and torch) itself, so registering a kind imports neither."""

    fields: frozenset[str]
    parse: Callable[[str, str, int], dict]  # (rest, whole text, size) -> spec
    check: Callable[[dict], None]
    open: Callable[[dict], Dataset]


DATASET_KINDS: Registry[DatasetKind] = Registry("dataset kind", error=InvalidInput,
                                                hint=f" (use {DATASET_FORMS})")
"""Dataset spec kinds by name (``atlas.registry``: one pattern for every extension point)."""


def _parse_synthetic(rest: str, text: str, size: int) -> dict:
    n = bounded_int(rest or "2000", f"synthetic:N in {text!r}", 1, MAX_SYNTHETIC_IMAGES)
    return {"kind": "synthetic", "n": n, "seed": 0, "size": size}


def _check_synthetic(spec: dict) -> None:
    bounded_int(spec.get("n"), "synthetic dataset size", 1, MAX_SYNTHETIC_IMAGES)
    bounded_int(spec.get("seed", 0), "synthetic dataset seed", 0, MAX_SEED)


def _open_synthetic(spec: dict) -> Dataset:
    from atlas.compute.datasets.synthetic import SyntheticShapes

    return SyntheticShapes(int(spec["n"]), seed=int(spec.get("seed", 0)), image_size=int(spec["size"]))


def _parse_folder(rest: str, text: str, size: int) -> dict:
    if not rest:
        raise InvalidInput(f"invalid dataset {text!r}: use {DATASET_FORMS}")
    return {"kind": "folder", "path": rest, "size": size}


def _check_folder(spec: dict) -> None:
    path = spec.get("path")
    if not isinstance(path, str) or not path or "\x00" in path:
        raise InvalidInput(f"a folder dataset needs a path, not {path!r}")
    if not Path(path).is_dir():
        raise InvalidInput(f"dataset folder {path!r} does not exist or is not a folder")


def _open_folder(spec: dict) -> Dataset:
    from atlas.compute.datasets.folder import ImageFolder

    return ImageFolder(spec["path"], image_size=int(spec["size"]))


def _parse_package(rest: str, text: str, size: int) -> dict:
    name, _, count = rest.partition(":")
    spec: dict = {"kind": "package", "package": name, "seed": 0, "size": size}
    if count:
        spec["n"] = bounded_int(count, f"package:NAME:N in {text!r}", 1, MAX_SYNTHETIC_IMAGES)
    return spec


def _check_package(spec: dict) -> None:
    package_directory(spec.get("package"))
    if "n" in spec:
        bounded_int(spec["n"], "package dataset size", 1, MAX_SYNTHETIC_IMAGES)
    bounded_int(spec.get("seed", 0), "package dataset seed", 0, MAX_SEED)


def _open_package(spec: dict) -> Dataset:
    from atlas.compute.datasets.package import PackageImages

    length = int(spec["n"]) if "n" in spec else None
    return PackageImages(spec["package"], int(spec["size"]), length, int(spec.get("seed", 0)))


DATASET_KINDS.register("synthetic", DatasetKind(frozenset({"kind", "n", "seed", "size"}),
                                                _parse_synthetic, _check_synthetic, _open_synthetic))
DATASET_KINDS.register("folder", DatasetKind(frozenset({"kind", "path", "size"}),
                                             _parse_folder, _check_folder, _open_folder))
DATASET_KINDS.register("package", DatasetKind(frozenset({"kind", "package", "n", "seed", "size"}),
                                              _parse_package, _check_package, _open_package))


def parse_dataset(text: str, size: int) -> dict:
    """``synthetic:2000``, ``folder:PATH`` or ``package:skimage:2000`` (the CLI form) as a
    checked spec."""
    kind, _, rest = text.partition(":")
    if kind not in DATASET_KINDS:
        raise InvalidInput(f"invalid dataset {text!r}: use {DATASET_FORMS}")
    return check_dataset(DATASET_KINDS.get(kind).parse(rest, text, size))


def check_dataset(spec: object) -> dict:
    """The spec if a worker can open it: a known kind, bounded numbers, an existing folder."""
    if not isinstance(spec, dict):
        raise InvalidInput(f"a dataset spec must be an object, not {spec!r}")
    kind = spec.get("kind")
    if not isinstance(kind, str):
        raise InvalidInput(f"a dataset spec needs a kind ({', '.join(DATASET_KINDS.names())}), not {kind!r}")
    definition = DATASET_KINDS.get(kind)
    unknown = sorted(set(spec) - definition.fields)
    if unknown:
        raise InvalidInput(f"unknown fields {unknown} in the {kind} dataset spec")
    bounded_int(spec.get("size"), "dataset image size", *IMAGE_SIZES)
    definition.check(spec)
    return spec


def open_dataset(spec: dict) -> Dataset:
    check_dataset(spec)
    return DATASET_KINDS.get(spec["kind"]).open(spec)
