"""Content-addressed storage of images and arrays (sha256 of the stored bytes).

Rows hold hashes, never bytes: the same visualization stored twice costs nothing, a
bundle can ship blobs by name, and a blob is verified against its name on every read.
The store is a local directory by default or any fsspec URL (``s3://…``, ``memory://…``),
which is how many workers on many machines share one store.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import fsspec
import numpy as np
from fsspec.implementations.local import LocalFileSystem
from PIL import Image

from atlas.errors import InvalidInput, NotFound

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


class BlobMissing(NotFound):
    pass


class BlobCorrupted(InvalidInput):
    pass


def blob_names(blobs: object) -> set[str]:
    """Blob hashes anywhere in an artifact's blobs (names to a hash or a list of them):
    what a job's rows reference, for the worker to check before it commits."""
    if isinstance(blobs, str):
        return {blobs}
    values = blobs.values() if isinstance(blobs, dict) else blobs if isinstance(blobs, list) else ()
    return set().union(*(blob_names(v) for v in values))


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def encode_png(image: Image.Image | np.ndarray) -> bytes:
    """PNG bytes of an image; arrays are HxW or HxWxC, uint8 or floats in [0, 1]."""
    if isinstance(image, np.ndarray):
        array = image
        if array.dtype != np.uint8:
            array = (np.clip(array, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        image = Image.fromarray(array)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def encode_array(array: np.ndarray) -> bytes:
    """``.npy`` bytes; object arrays are refused because loading them would unpickle."""
    if array.dtype == object:
        raise InvalidInput("object arrays cannot be stored as blobs")
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


class BlobStore:
    """Blobs under ``<root>/<aa>/<bb>/<sha256>``; writes go to a temp name and are renamed."""

    def __init__(self, url: str):
        self.url = url
        self.fs, self.root = fsspec.core.url_to_fs(url)
        self.root = self.root.rstrip("/")
        self.fs.makedirs(self.root, exist_ok=True)

    def path(self, sha256: str) -> str:
        if not SHA256_RE.match(sha256 or ""):
            raise InvalidInput(f"not a sha256 blob name: {sha256!r}")
        return f"{self.root}/{sha256[:2]}/{sha256[2:4]}/{sha256}"

    def exists(self, sha256: str) -> bool:
        return self.fs.exists(self.path(sha256))

    def put_bytes(self, data: bytes) -> str:
        sha256 = sha256_hex(data)
        final = self.path(sha256)
        if self.fs.exists(final):
            return sha256
        self.fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
        temp = f"{self.root}/tmp/{uuid.uuid4().hex}"
        self.fs.makedirs(f"{self.root}/tmp", exist_ok=True)
        with self.fs.open(temp, "wb") as handle:
            handle.write(data)
        self.fs.mv(temp, final)
        return sha256

    @contextmanager
    def staging(self) -> Iterator[Path]:
        """A private local folder for files on their way into the store (a bundle's blobs
        while it is checked), removed with everything in it when done. For a local store it
        lies under the store's ``tmp/`` so that ``put_file`` is a rename, not a copy."""
        parent = None
        if isinstance(self.fs, LocalFileSystem):
            parent = f"{self.root}/tmp"
            self.fs.makedirs(parent, exist_ok=True)
        folder = tempfile.mkdtemp(prefix="staging-", dir=parent)
        try:
            yield Path(folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def put_file(self, path: Path, sha256: str) -> None:
        """Move a local file whose content the caller has hashed to ``sha256`` into the store
        (a rename for a local store, an upload and a rename otherwise)."""
        final = self.path(sha256)
        if self.fs.exists(final):
            return
        self.fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
        if isinstance(self.fs, LocalFileSystem):
            os.replace(path, final)
            return
        temp = f"{self.root}/tmp/{uuid.uuid4().hex}"
        self.fs.makedirs(f"{self.root}/tmp", exist_ok=True)
        self.fs.put_file(str(path), temp)
        self.fs.mv(temp, final)

    def get_bytes(self, sha256: str) -> bytes:
        path = self.path(sha256)
        try:
            with self.fs.open(path, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            raise BlobMissing(f"blob {sha256} is missing from the blob store {self.url}") from None
        actual = sha256_hex(data)
        if actual != sha256:
            raise BlobCorrupted(
                f"blob {sha256} in {self.url} is corrupted: its content hashes to {actual}"
            )
        return data

    def put_png(self, image: Image.Image | np.ndarray) -> str:
        return self.put_bytes(encode_png(image))

    def get_png(self, sha256: str) -> Image.Image:
        image = Image.open(io.BytesIO(self.get_bytes(sha256)))
        image.load()
        return image

    def put_array(self, array: np.ndarray) -> str:
        return self.put_bytes(encode_array(array))

    def get_array(self, sha256: str) -> np.ndarray:
        return np.load(io.BytesIO(self.get_bytes(sha256)), allow_pickle=False)
