"""The catalogue: the one domain API that the app, the CLI and notebooks use.

    from atlas import Catalog
    cat = Catalog.open("sqlite:///atlas-data/atlas.db", user="alice")
    cat.set_label("demo/conv3/17", "curve detector", expected_version=0)

Each method is one transaction. Writes of curated data are attributed to the catalogue's
``user``, checked against that user's role, and recorded in the audit log in the same
transaction. Only an admin may name another user (``author=``, ``by=``): the write is then
theirs and the audit entry records both (see ``Catalog._author``).
"""

from __future__ import annotations

import copy
import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from atlas.catalog import audit
from atlas.catalog.api.browse import BrowseMixin
from atlas.catalog.api.circuits import CircuitsMixin
from atlas.catalog.api.computed import ComputedMixin
from atlas.catalog.api.directions import DirectionsMixin
from atlas.catalog.api.evidence import EvidenceMixin
from atlas.catalog.api.examples import ExamplesMixin
from atlas.catalog.api.exchange import ExchangeMixin
from atlas.catalog.api.families import FamiliesMixin
from atlas.catalog.api.graph import GraphMixin
from atlas.catalog.api.jobs import JobsMixin
from atlas.catalog.api.labels import LabelsMixin
from atlas.catalog.api.relations import RelationsMixin
from atlas.catalog.api.search import SearchMixin
from atlas.catalog.api.users_models import UsersModelsMixin
from atlas.catalog.resolve import require_role
from atlas.db import engine as dbengine
from atlas.db import migrate, store_identity
from atlas.db.blobs import BlobStore
from atlas.errors import DatabaseError, InvalidInput
from atlas.jobs.queue import JobQueue


def default_user() -> str:
    return os.environ.get("ATLAS_USER") or getpass.getuser()


def acting_user(user: str | None) -> str:
    """The name a catalogue acts as: ``user``, or $ATLAS_USER or the login name when none
    is given. An empty name is refused, not replaced: `--user ""` must never quietly act
    as whoever runs the command."""
    if user is None:
        return default_user()
    if not user.strip():
        raise InvalidInput(
            "the acting user name is empty: name a user (--user NAME), or leave it out "
            "to act as $ATLAS_USER or the login name"
        )
    return user


def _require_admin(engine: Engine, name: str, action: str) -> None:
    """``name`` must be an admin of the catalogue at ``engine``, which may be at any
    revision (the users table is the same in all of them); checked before a downgrade."""
    try:
        with Session(engine) as session:
            require_role(session, name, "admin", action)
    except DBAPIError:
        raise DatabaseError(f"cannot check that {name!r} may {action}: this database has no users table") from None


class Catalog(
    UsersModelsMixin, DirectionsMixin, LabelsMixin, EvidenceMixin, CircuitsMixin, FamiliesMixin, ComputedMixin,
    ExamplesMixin, JobsMixin, RelationsMixin, SearchMixin, GraphMixin, BrowseMixin, ExchangeMixin,
):
    """One catalogue: its database, its blob store, its job queue and the user it acts as.
    The methods are grouped by noun in ``atlas.catalog.api``; this class holds what they
    share: opening, sessions, the acting user and its overrides."""

    def __init__(self, engine, blobs: BlobStore, user: str | None = None):  # noqa: ANN001
        self.engine = engine
        self.blobs = blobs
        self.user = acting_user(user)
        self._read, self._write = dbengine.session_factory(engine)
        self._queue = JobQueue(engine)

    # -- opening ---------------------------------------------------------------------

    @classmethod
    def open(
        cls, url: str | None = None, blob_url: str | None = None, user: str | None = None
    ) -> Catalog:
        """Open an existing, migrated catalogue; a clear error otherwise."""
        user = acting_user(user)
        url = url or dbengine.default_database_url()
        engine = dbengine.make_engine(url)
        try:
            dbengine.check_connection(engine)
        except DatabaseError:
            engine.dispose()
            raise
        current, head = migrate.current_revision(engine), migrate.head_revision()
        if current != head:
            engine.dispose()
            state = "not migrated" if current is None else f"at schema {current}, not {head}"
            raise DatabaseError(
                f"database {dbengine.redact(url)} is {state}: run `atlas db upgrade`"
            )
        blobs = BlobStore(blob_url or dbengine.default_blob_url())
        try:
            store_identity.check(engine, blobs)  # the catalogue's own blob store, not another
        except Exception:
            engine.dispose()
            raise
        return cls(engine, blobs, user)

    @classmethod
    def init(
        cls, url: str | None = None, blob_url: str | None = None, admin: str | None = None
    ) -> Catalog:
        """Create (or upgrade) a catalogue and make ``admin`` its first user. A new
        catalogue and its blob store get a store id (``atlas.db.store_identity``); a store
        that has one already (a database re-created on it) lends it its id."""
        admin = acting_user(admin)
        url = url or dbengine.default_database_url()
        probe = dbengine.make_engine(url, create_sqlite_file=True)
        dbengine.check_connection(probe)
        probe.dispose()
        migrate.upgrade(url)
        engine = dbengine.make_engine(url)
        try:
            store_identity.check(engine, BlobStore(blob_url or dbengine.default_blob_url()), adopt=True)
        finally:
            engine.dispose()
        catalog = cls.open(url, blob_url, admin)
        if not catalog.users():
            catalog.add_user(catalog.user, "admin")
        return catalog

    # -- the schema (``atlas db …``): on a database that may not open as a catalogue yet ---

    @staticmethod
    def upgrade_schema(url: str | None = None, revision: str = "head") -> None:
        """Create the database if it is a new SQLite file, then migrate it to ``revision``."""
        url = url or dbengine.default_database_url()
        probe = dbengine.make_engine(url, create_sqlite_file=True)
        dbengine.check_connection(probe)
        probe.dispose()
        migrate.upgrade(url, revision)

    @staticmethod
    def downgrade_schema(url: str | None, revision: str, user: str | None, dry_run: bool = False) -> list[str]:
        """Migrate down to ``revision`` (it drops tables with their data): ``user`` must be an
        admin of the catalogue, checked before anything changes. Returns the migrations
        undone (``rev (what it did)``, newest first); with ``dry_run``, changes nothing."""
        url = url or dbengine.default_database_url()
        engine = dbengine.make_engine(url)
        try:
            dbengine.check_connection(engine)
            current = migrate.current_revision(engine)
            _require_admin(engine, acting_user(user), "downgrade the database")
        finally:
            engine.dispose()
        undone = migrate.revisions_undone(current, revision)
        if not dry_run:
            migrate.downgrade(url, revision)
        return undone

    @staticmethod
    def schema_revision(url: str | None = None) -> tuple[str | None, str]:
        """(the database's revision, None if not migrated; the newest revision)."""
        engine = dbengine.make_engine(url or dbengine.default_database_url())
        try:
            dbengine.check_connection(engine)
            return migrate.current_revision(engine), migrate.head_revision()
        finally:
            engine.dispose()

    @property
    def location(self) -> str:
        """The database URL with any password masked: safe to print."""
        return dbengine.redact(str(self.engine.url))

    def close(self) -> None:
        self._queue.close()
        self.engine.dispose()

    @property
    def job_queue(self) -> JobQueue:
        """This catalogue's job queue, for the worker runtime (claims, leases, progress) and
        watchers. Users' acts on jobs go through the job methods, which check and audit."""
        return self._queue

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Raw sessions are internal: every write goes through a method that checks the role
    # and audits. (Someone with the database URL can still connect directly; what roles
    # can and cannot protect against is in docs/security.md.)

    @contextmanager
    def _reading(self) -> Iterator[Session]:
        with self._guard(), self._read() as session, session.begin():
            yield session

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        with self._guard(), self._write() as session, session.begin():
            yield session

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise DatabaseError(f"database error: {reason}") from None

    def _author(self, session: Session, author: str | None) -> str:
        """The user a write is attributed to: the catalogue's user, or ``author`` when the
        catalogue's user is an admin acting for them. The one place an override is allowed:
        anyone else naming another user is refused before anything is written, and an
        admin's act is marked on the session so that every audit entry of the write names
        both the admin and the user (``audit.act_for``)."""
        if author is None or author == self.user:
            return self.user
        require_role(session, self.user, "admin", f"act for user {author!r}")
        audit.act_for(session, self.user, author)
        return author

    def as_user(self, name: str) -> Catalog:
        """This catalogue (same engine and blob store) acting as ``name``: for a front end
        that has authenticated its user (the app), so their writes are their own rather
        than an admin's on their behalf. Close the original, not this."""
        view = copy.copy(self)
        view.user = acting_user(name)
        return view
