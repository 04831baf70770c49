"""Safe loading of weight files into a model built in code.

A checkpoint is data, never code: ``.safetensors`` is read by safetensors, everything else
by ``torch.load(weights_only=True)``, whose unpickler refuses any object but tensors and
plain containers, so a pickle whose ``__reduce__`` would run code is rejected before it
runs. A TorchScript archive is accepted as a container of weights: its ``state_dict`` is
copied into the eager model from the factory (hooks, and so capture, need eager modules),
its code is never called.

Keys and shapes are checked before anything is copied, and the error names the first
offending keys, so a wrong file fails with a message a user can act on and leaves nothing
half-loaded.
"""

from __future__ import annotations

import hashlib
import pickle
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from atlas.errors import InvalidInput

_SHOWN = 5  # offending keys named in an error
_WRAPPER_KEYS = ("state_dict", "model_state_dict", "model")


class ModelLoadError(InvalidInput):
    """A weight file that cannot be loaded: unreadable, unsafe, or not for this model."""


def weights_sha256(path: str | Path) -> str:
    """Hex sha256 of a file, read in chunks (weights can be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _is_torchscript(path: Path) -> bool:
    """TorchScript archives are zip files with a ``code/`` folder; ``torch.save`` files
    are zip files without one."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as z:
        return any("/code/" in name for name in z.namelist())


def _read(path: Path) -> object:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path), device="cpu")
    if _is_torchscript(path):
        with warnings.catch_warnings():  # deprecated for export, still the format users have
            warnings.simplefilter("ignore", DeprecationWarning)
            return torch.jit.load(str(path), map_location="cpu").state_dict()
    return torch.load(path, map_location="cpu", weights_only=True)


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a weight file, by name, on the CPU. Raises ``ModelLoadError``."""
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"weights file not found: {path}")
    try:
        obj = _read(path)
    except pickle.UnpicklingError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelLoadError(f"refused to load {path.name}: it is not a plain weights file "
                             f"(only tensors are allowed; {first})") from None
    except Exception as e:  # truncated zips, bad headers: every reader has its own type
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
    return dict(obj)


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


def load_weights(model: nn.Module, path: str | Path) -> nn.Module:
    """Load ``path`` into ``model`` strictly (all checks first, then one copy)."""
    state = read_state_dict(path)
    check_state_dict(model, state)
    model.load_state_dict(state, strict=True)
    return model
