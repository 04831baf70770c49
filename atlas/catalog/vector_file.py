"""Reading a direction's vector from a file someone hands us: ``.npy`` or a JSON list.

The bytes are hostile until checked: a file over ``MAX_VECTOR_FILE_BYTES`` is refused
before it is parsed, ``.npy`` is read with ``allow_pickle=False`` (a pickled array would
run code) and must hold plain numbers in one axis, JSON must be a flat list of numbers
(NaN and Infinity, which Python's parser accepts, are refused). The length and finiteness
against the layer are checked where the direction is added
(``atlas.catalog.directions.checked_vector``). Every refusal is one line.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from atlas.errors import InvalidInput

MAX_VECTOR_FILE_BYTES = 4 * 1024 * 1024  # 100,000 channels as JSON fit; no layer has more
VECTOR_SUFFIXES = (".npy", ".json")


def read_vector_file(path: str | Path) -> np.ndarray:
    """The vector in the file at ``path`` (read at most ``MAX_VECTOR_FILE_BYTES`` + 1 bytes)."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_VECTOR_FILE_BYTES + 1)
    except OSError as exc:
        raise InvalidInput(f"cannot read vector file {str(path)!r}: {exc.strerror or exc}") from None
    return parse_vector(data, path.name)


def parse_vector(data: bytes, filename: str) -> np.ndarray:
    """The 1-d float64 vector in ``data``, a ``.npy`` or ``.json`` file named ``filename``."""
    suffix = Path(filename).suffix.lower()
    if suffix not in VECTOR_SUFFIXES:
        raise InvalidInput(f"a vector file must be .npy or .json, not {filename!r}")
    if len(data) > MAX_VECTOR_FILE_BYTES:
        raise InvalidInput(f"vector file {filename!r} is larger than {MAX_VECTOR_FILE_BYTES:,} bytes")
    vector = _npy(data, filename) if suffix == ".npy" else _json(data, filename)
    if vector.ndim != 1:
        raise InvalidInput(f"vector file {filename!r} must hold one list of numbers, not an array of shape "
                           f"{vector.shape}")
    return vector


def _npy(data: bytes, filename: str) -> np.ndarray:
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc):
            raise InvalidInput(f"vector file {filename!r} holds Python objects (pickled); only numbers are read") \
                from None
        raise InvalidInput(f"vector file {filename!r} is not a readable .npy array") from None
    except (OSError, EOFError):
        raise InvalidInput(f"vector file {filename!r} is not a readable .npy array") from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "iuf":
        raise InvalidInput(f"vector file {filename!r} must hold numbers, not {getattr(array, 'dtype', 'an archive')}")
    return array.astype(np.float64)


def _refuse_constant(name: str) -> float:
    raise InvalidInput(f"a vector must be finite numbers, not {name}")


def _json(data: bytes, filename: str) -> np.ndarray:
    try:
        values = json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise InvalidInput(f"vector file {filename!r} is not valid JSON") from None
    numeric = isinstance(values, list) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if not numeric:
        raise InvalidInput(f"vector file {filename!r} must be a JSON list of numbers")
    try:
        return np.asarray(values, dtype=np.float64)
    except OverflowError:  # an integer beyond float range
        raise InvalidInput(f"vector file {filename!r} has a number too large for a vector") from None
