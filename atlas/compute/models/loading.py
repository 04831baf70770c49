"""Safe loading of weight files into a model built in code.

A checkpoint is data, never code: ``.safetensors`` is read by safetensors, everything else
by ``torch.load(weights_only=True)``, whose unpickler refuses any object but tensors and
plain containers, so a pickle whose ``__reduce__`` would run code is rejected before it
runs. A TorchScript archive is refused: ``torch.jit.load`` runs the archive's compiled
code (a scripted ``__setstate__`` can write files, and so get code run later, or loop
forever), so it is recognised from its zip member names alone and never handed to
``torch.jit``. Its weights can be saved with ``torch.save(model.state_dict())``.

A file is read once, and the bytes read are the ones hashed and the ones parsed: what is
hashed is what is loaded, with no window in which the file could be swapped between the
two. Given the sha256 a file was registered with, a file that no longer matches is refused
before anything in it is parsed.

Keys and shapes are checked before anything is copied, and the error names the first
offending keys, so a wrong file fails with a message a user can act on and leaves nothing
half-loaded.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import zipfile
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from atlas.errors import InvalidInput

_SHOWN = 5  # offending keys named in an error
_WRAPPER_KEYS = ("state_dict", "model_state_dict", "model")
# Members only TorchScript archives have (``torch.jit.save``, and ``bytecode.pkl`` for the
# lite interpreter); ``torch.save`` zips hold data.pkl, data/N, version, byteorder and
# dot-files. The first folder of every member is the archive's name, whatever it is.
_TORCHSCRIPT_FILES = frozenset({"constants.pkl", "bytecode.pkl"})
_TORCHSCRIPT_FOLDER = "code"


class ModelLoadError(InvalidInput):
    """A weight file that cannot be loaded: unreadable, unsafe, or not for this model."""


class WeightsMismatch(ModelLoadError):
    """A weight file whose sha256 is not the one it was expected to have."""


def weights_sha256(path: str | Path) -> str:
    """Hex sha256 of a file, read in chunks (weights can be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _is_torchscript(data: bytes) -> bool:
    """Whether ``data`` is a TorchScript archive, from its zip member names only (no
    member is read)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, ValueError, EOFError):  # not a zip: torch.load decides
        return False
    for name in names:
        parts = name.replace("\\", "/").split("/")
        if parts[-1] in _TORCHSCRIPT_FILES or _TORCHSCRIPT_FOLDER in parts[1:-1]:
            return True
    return False


def _read_bytes(path: Path, expected_sha256: str | None) -> tuple[bytes, str]:
    """The file's bytes and their sha256; a mismatch with ``expected_sha256`` is refused
    here, before anything is parsed."""
    if not path.is_file():
        raise ModelLoadError(f"weights file not found: {path}")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ModelLoadError(f"cannot read weights file {path.name}: {e.strerror or e}") from None
    digest = hashlib.sha256(data).hexdigest()
    if expected_sha256 is not None and digest != expected_sha256:
        raise WeightsMismatch(f"{path.name} has sha256 {digest[:12]}…, not the expected "
                              f"{expected_sha256[:12]}…; it was not parsed")
    return data, digest


def _parse(path: Path, data: bytes) -> object:
    if _is_torchscript(data):
        raise ModelLoadError(f"refused {path.name}: it is a TorchScript archive, which runs code when "
                             f"loaded; save its weights with torch.save(model.state_dict())")
    if path.suffix == ".safetensors":
        from safetensors.torch import load

        return load(data)
    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


def read_weights(path: str | Path, expected_sha256: str | None = None) -> tuple[dict[str, torch.Tensor], str]:
    """(the tensors of a weight file by name, on the CPU; the sha256 of the bytes they were
    parsed from). With ``expected_sha256``, another file is refused unparsed. Raises
    ``ModelLoadError``."""
    path = Path(path)
    data, digest = _read_bytes(path, expected_sha256)
    try:
        obj = _parse(path, data)
    except ModelLoadError:
        raise
    except pickle.UnpicklingError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelLoadError(f"refused to load {path.name}: it is not a plain weights file "
                             f"(only tensors are allowed; {first})") from None
    except Exception as e:  # noqa: BLE001 - truncated zips, bad headers: every reader has its own type
        raise ModelLoadError(f"cannot read weights file {path.name}: "
                             f"{type(e).__name__}: {str(e).strip()[:200]}") from None
    for key in _WRAPPER_KEYS:
        if isinstance(obj, Mapping) and set(obj) == {key} and isinstance(obj[key], Mapping):
            obj = obj[key]
    if not isinstance(obj, Mapping):
        raise ModelLoadError(f"{path.name} holds a {type(obj).__name__}, not a state_dict")
    bad = [str(k) for k, v in obj.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise ModelLoadError(f"{path.name} has non-tensor entries: {', '.join(bad[:_SHOWN])}")
    return dict(obj), digest


def read_state_dict(path: str | Path, expected_sha256: str | None = None) -> dict[str, torch.Tensor]:
    """The tensors of a weight file, by name, on the CPU. Raises ``ModelLoadError``."""
    return read_weights(path, expected_sha256)[0]


def _names(keys: list[str]) -> str:
    more = f" (and {len(keys) - _SHOWN} more)" if len(keys) > _SHOWN else ""
    return ", ".join(keys[:_SHOWN]) + more


def check_state_dict(model: nn.Module, state: Mapping[str, torch.Tensor]) -> None:
    """Raise ``ModelLoadError`` unless ``state`` has exactly the model's keys and shapes."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    problems = []
    if missing:
        problems.append(f"missing keys: {_names(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {_names(unexpected)}")
    if problems:
        raise ModelLoadError("weights do not fit the model: " + "; ".join(problems))
    for key, want in expected.items():
        got = state[key]
        if got.shape != want.shape:
            raise ModelLoadError(f"shape mismatch for {key}: file has {tuple(got.shape)}, "
                                 f"model expects {tuple(want.shape)}")


def load_weights(model: nn.Module, path: str | Path, expected_sha256: str | None = None) -> str:
    """Load ``path`` into ``model`` strictly (all checks first, then one copy); returns the
    sha256 of the bytes loaded."""
    state, digest = read_weights(path, expected_sha256)
    check_state_dict(model, state)
    model.load_state_dict(state, strict=True)
    return digest
