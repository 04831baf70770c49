"""Engines for SQLite and PostgreSQL, with the per-connection settings each needs.

SQLite: foreign keys, WAL and busy_timeout must be set on every connection, and we take
over BEGIN so write transactions can start with ``BEGIN IMMEDIATE`` (a writer takes the
lock up front instead of failing with "database is locked" on its first write).
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from atlas.errors import DatabaseError, DatabaseUnreachable

SQLITE_BUSY_TIMEOUT_MS = 30_000
WRITE = {"sqlite_begin": "IMMEDIATE"}


def redact(url: str) -> str:
    """The URL with its password hidden, for error messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or None for other dialects and in-memory databases."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001
        # Autocommit at the driver level: SQLAlchemy's "begin" event below emits BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # noqa: ANN001
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def normalize_url(url: str) -> str:
    """Plain ``postgresql://`` means psycopg 3 here (the one driver we install)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseError(f"invalid database URL {url!r}: {exc}") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, *, create_sqlite_file: bool = False, **engine_kwargs: object) -> Engine:
    """An engine for ``url``; a missing SQLite file is an error unless we are creating it,
    so a typo in a path never leaves an empty database behind."""
    url = normalize_url(url)
    path = sqlite_path(url)
    if path is not None:
        if not path.exists():
            if not create_sqlite_file:
                raise DatabaseError(
                    f"no catalogue database at {path} (run `atlas init` to create one)"
                )
            path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if make_url(url).get_backend_name() == "sqlite":
            engine = create_engine(
                url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **engine_kwargs
            )
            _configure_sqlite(engine)
        else:
            engine = create_engine(
                url, pool_pre_ping=True, connect_args={"connect_timeout": 5}, **engine_kwargs
            )
    except (ArgumentError, ImportError) as exc:
        raise DatabaseError(f"invalid database URL {redact(url)}: {exc}") from None
    return engine


def check_connection(engine: Engine) -> None:
    """Fail with one clear line when the database cannot be reached."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseUnreachable(
            f"cannot connect to database {redact(str(engine.url))}: {reason}"
        ) from None


def has_table(engine: Engine, name: str) -> bool:
    return inspect(engine).has_table(name)


def session_factory(engine: Engine) -> tuple[sessionmaker[Session], sessionmaker[Session]]:
    """(read sessions, write sessions). Write sessions take SQLite's write lock at BEGIN."""
    read = sessionmaker(bind=engine, expire_on_commit=False)
    write = sessionmaker(bind=engine.execution_options(**WRITE), expire_on_commit=False)
    return read, write


def default_database_url() -> str:
    return os.environ.get("ATLAS_DATABASE_URL") or "sqlite:///atlas-data/atlas.db"


def default_blob_url() -> str:
    return os.environ.get("ATLAS_BLOB_URL") or "atlas-data/blobs"
