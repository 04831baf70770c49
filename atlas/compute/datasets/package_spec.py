"""Where an installed package's files are, found without running any of its code.

A dataset spec can name a package (``package:skimage``) whose shipped images the worker
reads. The name comes from a user or a shared job, so it is held to what a top-level
import name can be (an ASCII identifier, no dots, no path) and looked up with
``importlib.util.find_spec``, which for a top-level name consults the import finders
only: the package's ``__init__`` never runs. Torch-free, so a job's dataset is checked when
it is queued.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from atlas.errors import InvalidInput

MAX_NAME = 100


def check_package_name(name: object) -> str:
    """``name`` if it can be a top-level package name; one line otherwise."""
    if not isinstance(name, str) or not name or len(name) > MAX_NAME or not name.isascii() \
            or not name.isidentifier():
        raise InvalidInput(f"a package dataset names an installed package by its top-level import name "
                           f"(letters, digits, underscores), not {str(name)[:MAX_NAME]!r}")
    return name


def package_directory(name: object) -> Path:
    """The directory of installed package ``name``, found without importing it."""
    name = check_package_name(name)
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError) as e:
        raise InvalidInput(f"cannot look up package {name!r}: {e}") from None
    if spec is None:
        raise InvalidInput(f"package {name!r} is not installed")
    locations = list(spec.submodule_search_locations or [])
    if len(locations) != 1 or not Path(locations[0]).is_dir():
        raise InvalidInput(f"{name!r} is not a package with one directory of files")
    return Path(locations[0])
