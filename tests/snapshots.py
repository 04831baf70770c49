"""Byte-for-byte pictures of a catalogue and its blob store, for "a refused input leaves
everything exactly as before" assertions::

    before = state(catalog)
    with pytest.raises(InvalidInput):
        catalog.import_bundle(hostile)
    assert state(catalog) == before

Every table is read whole (reflected, so tables added later are included), rows sorted by
their text; the blob store is every file under its root, by path, with its sha256.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from sqlalchemy import MetaData, select
from sqlalchemy.engine import Engine

from atlas import Catalog


def database_state(engine: Engine) -> dict[str, list[tuple]]:
    """Every row of every table, as sorted tuples of their values' text."""
    meta = MetaData()
    meta.reflect(engine)
    out: dict[str, list[tuple]] = {}
    with engine.connect() as conn:
        for name, table in sorted(meta.tables.items()):
            rows = conn.execute(select(table)).all()
            out[name] = sorted(tuple(repr(v) for v in row) for row in rows)
    return out


def blob_state(root: str | Path) -> dict[str, str]:
    """Every file under the blob store's root (temporary files included), with its sha256."""
    root = Path(root)
    files: dict[str, str] = {}
    if not root.exists():
        return files
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            files[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


def state(catalog: Catalog) -> tuple[dict[str, list[tuple]], dict[str, str]]:
    """The catalogue's rows and its (local) blob store's files."""
    return database_state(catalog.engine), blob_state(catalog.blobs.root)
