"""Byte-for-byte pictures of a catalogue and its blob store, for "a refused input leaves
everything exactly as before" assertions::

    before = state(catalog)
    with pytest.raises(InvalidInput):
        catalog.import_bundle(hostile)
    assert state(catalog) == before

The schema is part of the picture (every table, column, index, constraint and trigger, as
the engine reports it); every table is read whole (reflected, so tables added later are
included), rows sorted by their text; the blob store is every file under its root, by
path, with its sha256.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from sqlalchemy import MetaData, select, text
from sqlalchemy.engine import Engine

from atlas import Catalog

# The schema as the catalogue's own engine reports it, by dialect: every table, column,
# index, constraint and trigger, as text.
SCHEMA_QUERIES = {
    "sqlite": "SELECT type, name, tbl_name, sql FROM sqlite_master",
    "postgresql": """
        SELECT 'column', table_name, column_name, concat_ws(' ', data_type, is_nullable, column_default,
                                                            generation_expression)
          FROM information_schema.columns WHERE table_schema = current_schema()
        UNION ALL SELECT 'index', tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()
        UNION ALL SELECT 'constraint', conrelid::regclass::text, conname, pg_get_constraintdef(oid)
          FROM pg_constraint WHERE connamespace = current_schema()::regnamespace
        UNION ALL SELECT 'trigger', tgrelid::regclass::text, tgname, pg_get_triggerdef(oid)
          FROM pg_trigger WHERE NOT tgisinternal""",
}
# Reflected tables by dialect and schema: reflecting is most of the cost of a picture (about
# 50 ms of the 55 on SQLite), and every test that takes one takes at least two.
_REFLECTED: dict[tuple[str, tuple], MetaData] = {}


def database_state(engine: Engine) -> dict[str, list[tuple]]:
    """The schema (``"(schema)"``) and every row of every table, as sorted tuples of their
    values' text."""
    with engine.connect() as conn:
        described = conn.execute(text(SCHEMA_QUERIES[engine.dialect.name]))
        schema = tuple(sorted(tuple(map(repr, row)) for row in described))
        meta = _REFLECTED.get((engine.dialect.name, schema))
        if meta is None:
            meta = _REFLECTED[engine.dialect.name, schema] = MetaData()
            meta.reflect(conn)
        out: dict[str, list[tuple]] = {"(schema)": list(schema)}
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
