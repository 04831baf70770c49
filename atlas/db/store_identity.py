"""Which blob store belongs to which catalogue: an id in both, compared on every open.

Rows name blobs by hash, so a catalogue opened with the wrong store (a worker started
with another ``--blobs``) would commit rows pointing at blobs that the other workers and
the app cannot find, every job ``done``. ``atlas init`` gives the catalogue a store id
(the ``blob_store_id`` setting) and writes the same id into the store (``ATLAS_STORE_ID``
at its root); ``Catalog.open`` refuses a store whose id differs, or that has none while
the catalogue has one (another, empty store).

Catalogues made before store ids get one on their first open, together with the store
they are opened with (neither has an id yet), if that store holds the catalogue's blobs
(a sample: one artifact's and one edge kernel's); a store without them is refused, so
a command run once without ``--blobs`` cannot make an empty default folder the store.
A store that already has an id is adopted only by ``atlas init`` of a new catalogue
(re-creating a database on an existing store); ``open`` refuses it, since it belongs to
another catalogue.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from atlas.db.blobs import BlobStore, blob_names
from atlas.db.engine import WRITE
from atlas.db.models import Artifact, Edge, Setting
from atlas.errors import InvalidInput

ID_SETTING = "blob_store_id"
URL_SETTING = "blob_store_url"
ID_FILE = "ATLAS_STORE_ID"
MAX_ID_BYTES = 100


class StoreMismatch(InvalidInput):
    """The blob store is not the catalogue's own."""


def store_id(blobs: BlobStore) -> str | None:
    """The id written in the store, or None for a store without one."""
    try:
        with blobs.fs.open(f"{blobs.root}/{ID_FILE}", "rb") as handle:
            text = handle.read(MAX_ID_BYTES).decode("ascii", "replace").strip()
    except FileNotFoundError:
        return None
    return text or None


def _write_store_id(blobs: BlobStore, value: str) -> None:
    """Through fsspec like the blobs, to a temporary name renamed into place."""
    temp = f"{blobs.root}/tmp/{uuid.uuid4().hex}"
    blobs.fs.makedirs(f"{blobs.root}/tmp", exist_ok=True)
    with blobs.fs.open(temp, "wb") as handle:
        handle.write(f"{value}\n".encode())
    blobs.fs.mv(temp, f"{blobs.root}/{ID_FILE}")


def _settings(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(select(Setting.key, Setting.value).where(Setting.key.in_((ID_SETTING, URL_SETTING))))
        return {key: value for key, value in rows}


def _shown(url: str) -> str:
    """The store's URL without any user or password in it."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def _record(engine: Engine, value: str, blobs: BlobStore) -> bool:
    """Give the catalogue ``value`` as its store id; False when another process opening
    it at the same moment was first (its id stands)."""
    try:
        with engine.execution_options(**WRITE).begin() as conn:
            conn.execute(insert(Setting), [{"key": ID_SETTING, "value": value},
                                           {"key": URL_SETTING, "value": _shown(blobs.url)}])
    except IntegrityError:
        return False
    return True


def _missing_sample(engine: Engine, blobs: BlobStore) -> str | None:
    """A blob the catalogue's rows name that is not in ``blobs`` (one artifact's and one
    edge kernel are looked at), or None."""
    with engine.connect() as conn:
        artifact = conn.scalar(select(Artifact.blobs).limit(1))
        kernel = conn.scalar(select(Edge.kernel_sha256).where(Edge.kernel_sha256.is_not(None)).limit(1))
    sample = sorted(blob_names(artifact or {}))[:1] + ([kernel] if kernel else [])
    return next((sha for sha in sample if not blobs.exists(sha)), None)


def check(engine: Engine, blobs: BlobStore, adopt: bool = False) -> str:
    """The store id shared by the catalogue and ``blobs``; StoreMismatch (one line, nothing
    written) when the store is not the catalogue's. A catalogue and a store with no id
    yet get a new one; with ``adopt`` (a new catalogue), a store's existing id is taken."""
    settings = _settings(engine)
    ours, theirs = settings.get(ID_SETTING), store_id(blobs)
    where = f"use --blobs/ATLAS_BLOB_URL of {settings.get(URL_SETTING, 'the store it was made with')}"
    if ours is None and theirs is not None and not adopt:
        raise StoreMismatch(f"blob store {_shown(blobs.url)} belongs to another catalogue (id {theirs}); "
                            f"this catalogue has no store yet: open it with its own store")
    if ours is not None and theirs is None:
        raise StoreMismatch(f"blob store {_shown(blobs.url)} has no store id, but this catalogue's store has id "
                            f"{ours}: it is another (empty) store; {where}")
    if ours is not None and theirs != ours:
        raise StoreMismatch(f"blob store {_shown(blobs.url)} belongs to another catalogue (id {theirs}); "
                            f"this catalogue's store has id {ours}: {where}")
    if ours is None and theirs is None:
        missing = _missing_sample(engine, blobs)
        if missing:
            raise StoreMismatch(f"blob store {_shown(blobs.url)} lacks this catalogue's blob {missing}: "
                                f"it is another store; use --blobs/ATLAS_BLOB_URL of the catalogue's own")
    if ours is None:
        ours = theirs or str(uuid.uuid4())
        if _record(engine, ours, blobs) and theirs is None:
            _write_store_id(blobs, ours)  # only by the process whose id the catalogue took
        return check(engine, blobs)  # the store must now carry the catalogue's id
    return ours
