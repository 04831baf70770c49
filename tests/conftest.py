"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL tests use ``ATLAS_TEST_POSTGRES_URL`` (a superuser on a server we may create
databases on: emptying a database for reuse passes its append-only triggers and ends its
leftover connections). Each test gets a fresh database: a migrated template is made once
per run and copied (SQLite: a file copy; PostgreSQL: ``CREATE DATABASE … TEMPLATE``, or a
database an earlier test used, emptied: ``PostgresDatabases.recycle``), which is much
faster than migrating for every test. Under CI a missing PostgreSQL URL fails the run instead of
quietly testing one dialect.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from atlas import Catalog
from atlas.db import migrate
from atlas.db.engine import normalize_url
from tests.availability import unavailable

DIALECTS = ["sqlite", "postgresql"]
# In every PostgreSQL database name this run makes. ``tools/mutate.py`` sets it: a mutant's
# tests run in a process that a time limit may kill before it drops its databases, and the
# run then drops what is left by this prefix. The names stay unique per database either way.
RUN_ID = os.environ.get("ATLAS_TEST_RUN_ID") or f"{os.getpid()}_{uuid.uuid4().hex[:6]}"
# A migrated PostgreSQL template shared by sessions (tools/mutate.py: one session per mutant),
# as ATLAS_TEST_SQLITE_TEMPLATE is for SQLite; unset, each session migrates its own.
SHARED_POSTGRES_TEMPLATE = os.environ.get("ATLAS_TEST_POSTGRES_TEMPLATE")
# A folder where filled SQLite catalogues, and bytes made from them, outlive the session that
# built them (tools/mutate.py sets it for a group whose scored code none of them runs);
# unset, CatalogTemplates builds them once per session.
SHARED_CATALOGUES = os.environ.get("ATLAS_TEST_CATALOGUE_CACHE")
T = TypeVar("T")


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist (``make test`` runs one worker per core), each worker's torch and
    the processes it starts get an equal share of the cores: torch's default of one thread
    per core in every worker would oversubscribe them, and its spinning threads then slow
    every test down. Before torch is imported, so the environment is what it reads."""
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if workers and "OMP_NUM_THREADS" not in os.environ:
        os.environ["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // int(workers)))


def postgres_admin_url() -> str:
    url = os.environ.get("ATLAS_TEST_POSTGRES_URL")
    if not url:
        unavailable("ATLAS_TEST_POSTGRES_URL is not set: CI must test PostgreSQL too")
    return normalize_url(url)


class PostgresDatabases:
    """Creates, recycles and drops throwaway databases on the test server.

    A migrated database a test has finished with is emptied (every table truncated, its
    ids restarted) and handed to the next test instead of being dropped: ``DROP
    DATABASE`` waits for a checkpoint, which on a busy server costs seconds, and with
    hundreds of PostgreSQL tests that was minutes of every run. A database whose tables
    or schema version a test changed (a downgrade, say) is dropped, not recycled."""

    def __init__(self, admin_url: str):
        self.admin_url = admin_url
        self.engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.template: str | None = None
        self.template_tables: dict[str, str] = {}  # table -> its columns, as the template has them
        self.template_version: str | None = None
        self.clean: list[str] = []  # migrated databases emptied and ready for the next test

    def url(self, name: str) -> str:
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def create(self, template: str | None = None) -> str:
        name = f"atlas_test_{RUN_ID}_{uuid.uuid4().hex[:8]}"
        clause = f" TEMPLATE {template}" if template else ""
        with self.engine.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}{clause}"))
        return name

    def drop(self, name: str) -> None:
        with self.engine.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))

    def migrated(self) -> str:
        if self.clean:
            return self.clean.pop()
        if self.template is None:
            self.template = self._shared_template() if SHARED_POSTGRES_TEMPLATE else self._new_template()
            # The schema is read from a copy: a connection to the template itself would stop
            # other sessions from copying it.
            first = self._from_pool() or self.create(self.template)
            self.template_tables, self.template_version = self._on(first, self._schema)
            return first
        return self._from_pool() or self.create(self.template)

    def _from_pool(self) -> str | None:
        """A database an earlier session of this run emptied and left (``pool``), taken by
        renaming it (of two sessions after the same one, only one rename succeeds); None
        when there is none, or outside runs that share a template."""
        if not SHARED_POSTGRES_TEMPLATE:
            return None
        with self.engine.connect() as conn:
            pooled = conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :pool"),
                                  {"pool": f"atlas_test_{RUN_ID}_pool_%"}).scalars().all()
            for name in pooled:
                mine = f"atlas_test_{RUN_ID}_{uuid.uuid4().hex[:8]}"
                try:
                    conn.execute(text(f"ALTER DATABASE {name} RENAME TO {mine}"))
                except SQLAlchemyError:
                    continue  # another session took it first
                return mine
        return None

    def pool(self) -> None:
        """At the end of a session that shares a template: leave the emptied databases to
        the next session of the run (``_from_pool``) instead of dropping them. A mutant's
        run of a few tests is one session (``make mutate``), and creating and dropping its
        databases was most of its time on a busy server; the run drops the pool at its end."""
        if not SHARED_POSTGRES_TEMPLATE:
            return
        with self.engine.connect() as conn:
            for name in self.clean:
                conn.execute(text(f"ALTER DATABASE {name} RENAME TO atlas_test_{RUN_ID}_pool_{uuid.uuid4().hex[:8]}"))
        self.clean = []

    def _new_template(self) -> str:
        name = self.create()
        migrate.upgrade(self.url(name))
        return name

    def _shared_template(self) -> str:
        """The migrated template ``ATLAS_TEST_POSTGRES_TEMPLATE`` names, built by the first
        session that needs it (under a lock, so that concurrent sessions wait for it) and
        kept for the others (``tools/mutate.py`` sets it per group and drops it after)."""
        name = SHARED_POSTGRES_TEMPLATE
        with self.engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(hashtext(:name))"), {"name": name})
            try:
                found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name})
                if found.first() is None:
                    conn.execute(text(f"CREATE DATABASE {name}"))
                    migrate.upgrade(self.url(name))
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(hashtext(:name))"), {"name": name})
        return name

    @staticmethod
    def _schema(conn: Connection) -> tuple[dict[str, str], str | None]:
        columns = conn.execute(text(
            "SELECT table_name, string_agg(column_name || ' ' || data_type, ',' ORDER BY ordinal_position) "
            "FROM information_schema.columns WHERE table_schema = 'public' GROUP BY table_name")).all()
        return dict(columns), conn.execute(text("SELECT max(version_num) FROM alembic_version")).scalar()

    def _on(self, name: str, work: Callable[[Connection], T]) -> T:
        engine = create_engine(self.url(name))
        try:
            with engine.begin() as conn:
                return work(conn)
        finally:
            engine.dispose()

    def recycle(self, name: str) -> None:
        """Empty a migrated database for the next test, or drop it if its schema changed
        (or if emptying it fails: a database is never left behind)."""
        with self.engine.connect() as conn:  # the test's own connections, as WITH (FORCE) would
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
            conn.execute(text(f"ALTER DATABASE {name} RESET ALL"))  # settings a test gave the database

        def empty(conn: Connection) -> bool:
            if self._schema(conn) != (self.template_tables, self.template_version):
                return False
            tables = ", ".join(f'"{table}"' for table in self.template_tables if table != "alembic_version")
            conn.execute(text("SET LOCAL session_replication_role = replica"))  # past the append-only triggers
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            return True

        try:
            emptied = self._on(name, empty)
        except SQLAlchemyError:
            emptied = False
        if emptied:
            self.clean.append(name)
        else:
            self.drop(name)


@pytest.fixture(scope="session")
def _postgres() -> Iterator[PostgresDatabases | None]:
    url = os.environ.get("ATLAS_TEST_POSTGRES_URL")
    if not url:
        yield None
        return
    databases = PostgresDatabases(normalize_url(url))
    yield databases
    own_template = databases.template not in (None, SHARED_POSTGRES_TEMPLATE)  # a shared one outlives us
    databases.pool()
    for name in [*databases.clean, *([databases.template] if own_template else [])]:
        databases.drop(name)
    databases.engine.dispose()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The migrated SQLite database every test's own is copied from. Where
    ``ATLAS_TEST_SQLITE_TEMPLATE`` names a file, sessions share it: the first builds it
    there, the others copy it (``tools/mutate.py`` sets it to a fresh path per group:
    each mutant's tests run in a session of their own, and migrating was 0.25 s of a
    run whose tests take 0.1 s)."""
    shared = os.environ.get("ATLAS_TEST_SQLITE_TEMPLATE")
    if shared and Path(shared).is_file():
        return shared
    path = tmp_path_factory.mktemp("template") / "atlas.db"
    migrate.upgrade(f"sqlite:///{path}")
    if shared:  # whole or not at all: a concurrent session may be copying it
        partial = f"{shared}.{os.getpid()}"
        shutil.copy(path, partial)
        os.replace(partial, shared)
    return str(path)


def _fresh_url(dialect: str, migrated: bool, postgres, sqlite_template, tmp_path) -> Iterator[str]:
    if dialect == "sqlite":
        path = tmp_path / f"atlas-{uuid.uuid4().hex[:6]}.db"
        if migrated:
            shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    if postgres is None:
        postgres_admin_url()  # skips, or fails under CI
    if migrated:
        name = postgres.migrated()
        yield postgres.url(name)
        postgres.recycle(name)
    else:
        name = postgres.create()
        yield postgres.url(name)
        postgres.drop(name)


@pytest.fixture(params=DIALECTS)
def dialect(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def db_url(dialect, _postgres, _sqlite_template, tmp_path) -> Iterator[str]:
    """A fresh, migrated, empty database."""
    yield from _fresh_url(dialect, True, _postgres, _sqlite_template, tmp_path)


@pytest.fixture
def empty_db_url(dialect, _postgres, _sqlite_template, tmp_path) -> Iterator[str]:
    """A fresh database with no schema at all (SQLite: no file yet)."""
    yield from _fresh_url(dialect, False, _postgres, _sqlite_template, tmp_path)


@pytest.fixture
def blob_dir(tmp_path) -> str:
    return str(tmp_path / "blobs")


def with_users(cat: Catalog) -> Catalog:
    """``cat`` with one user of each role; it acts as the admin ``alice``."""
    cat.add_user("alice", "admin")
    for name, role in (("vic", "viewer"), ("carl", "curator"), ("cora", "curator"), ("rita", "reviewer")):
        cat.add_user(name, role)
    return cat


@pytest.fixture
def catalog(db_url: str, blob_dir: str) -> Iterator[Catalog]:
    """A catalogue with one user of each role, acting as the admin ``alice``."""
    cat = with_users(Catalog.open(db_url, blob_dir, user="alice"))
    yield cat
    cat.close()


def built_once(folder: Path, build: Callable[[Path], object]) -> Path:
    """``folder`` as ``build`` fills it, built by the first process that asks and then kept
    for every later one (a lock file beside it makes the others wait; a build cut short
    leaves no mark of completion, so the next asker builds it again)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.with_name(folder.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / ".built").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            (folder / ".built").touch()
    return folder


class CatalogTemplates:
    """Catalogues built once per session and dialect, copied for each test that asks for
    one: the database as the migrated template is (a file copy; ``CREATE DATABASE …
    TEMPLATE``) and the blob store file by file. Filling a catalogue through the API is
    most of the time of a test that starts from a full one (the bundle tests), and of each
    mutant's run of those tests in ``make mutate``, where ``ATLAS_TEST_CATALOGUE_CACHE``
    keeps the SQLite ones from one session to the next."""

    def __init__(self, postgres: PostgresDatabases | None, sqlite_template: str, root: Path) -> None:
        self._postgres, self._sqlite_template, self._root = postgres, sqlite_template, root
        self._built: dict[tuple[str, str], tuple[str, Path]] = {}  # (name, dialect) -> (database, blob store)
        self._made: dict[str, bytes] = {}

    def copy(self, name: str, fill: Callable[[Catalog], object], dialect: str, tmp_path: Path) -> Iterator[Catalog]:
        """A fresh copy of the catalogue ``fill`` makes of one with users (``with_users``),
        acting as ``alice``; ``fill`` runs once per session and dialect."""
        key = (name, dialect)
        if key not in self._built:
            self._built[key] = self._build(name, fill, dialect)
        database, blobs = self._built[key]
        shutil.copytree(blobs, tmp_path / f"{name}-blobs")
        if dialect == "sqlite":
            shutil.copy(database, tmp_path / f"{name}.db")
            url = f"sqlite:///{tmp_path / f'{name}.db'}"
        else:
            assert self._postgres is not None  # _build has failed or skipped otherwise
            copied = self._postgres.create(template=database)
            url = self._postgres.url(copied)
        cat = Catalog.open(url, str(tmp_path / f"{name}-blobs"), user="alice")
        yield cat
        cat.close()
        if dialect != "sqlite":
            self._postgres.recycle(copied)

    def made(self, key: str, make: Callable[[], bytes]) -> bytes:
        """What ``make`` returns (an export of one of these catalogues, say), made once per
        session, or once for every session where the catalogues are kept."""
        if key not in self._made:
            if SHARED_CATALOGUES:
                folder = built_once(Path(SHARED_CATALOGUES) / key, lambda f: (f / "bytes").write_bytes(make()))
                self._made[key] = (folder / "bytes").read_bytes()
            else:
                self._made[key] = make()
        return self._made[key]

    def _build(self, name: str, fill: Callable[[Catalog], object], dialect: str) -> tuple[str, Path]:
        if dialect == "sqlite":
            root = self._root
            if SHARED_CATALOGUES:
                root = built_once(Path(SHARED_CATALOGUES) / f"{name}-sqlite",
                                  lambda folder: self._fill_sqlite(name, fill, folder))
            else:
                self._fill_sqlite(name, fill, root)
            return str(root / f"{name}.db"), root / f"{name}-sqlite-blobs"
        if self._postgres is None:
            postgres_admin_url()  # skips, or fails under CI
        database = self._postgres.migrated()
        blobs = self._root / f"{name}-{dialect}-blobs"
        self._fill(self._postgres.url(database), blobs, fill)
        return database, blobs

    def _fill_sqlite(self, name: str, fill: Callable[[Catalog], object], root: Path) -> None:
        shutil.copy(self._sqlite_template, root / f"{name}.db")
        self._fill(f"sqlite:///{root / f'{name}.db'}", root / f"{name}-sqlite-blobs", fill)

    @staticmethod
    def _fill(url: str, blobs: Path, fill: Callable[[Catalog], object]) -> None:
        blobs.mkdir(parents=True)  # copied per test, whether or not ``fill`` stores a blob
        cat = with_users(Catalog.open(url, str(blobs), user="alice"))
        fill(cat)
        cat.close()  # no connection may be open to a database copied by CREATE DATABASE … TEMPLATE

    def drop(self) -> None:
        for (_name, dialect), (database, _blobs) in self._built.items():
            if dialect != "sqlite" and self._postgres is not None:
                self._postgres.drop(database)


@pytest.fixture(scope="session")
def catalog_templates(_postgres, _sqlite_template, tmp_path_factory: pytest.TempPathFactory,
                      ) -> Iterator[CatalogTemplates]:
    templates = CatalogTemplates(_postgres, _sqlite_template, tmp_path_factory.mktemp("catalogues"))
    yield templates
    templates.drop()


DEMO_LAYERS = [
    {"name": "conv1", "kind": "conv", "channels": 8, "spatial_shape": [32, 32]},
    {"name": "conv2", "kind": "conv", "channels": 16, "spatial_shape": [16, 16]},
    {"name": "conv3", "kind": "conv", "channels": 32, "spatial_shape": [8, 8]},
]


def with_demo(cat: Catalog) -> Catalog:
    """``cat`` with a small registered model ``demo`` (conv1, conv2, conv3)."""
    cat.add_model("demo", "demo_cnn", layers=DEMO_LAYERS, input_spec={"size": [64, 64]})
    return cat


@pytest.fixture
def demo_catalog(catalog: Catalog) -> Catalog:
    """The catalogue with a small registered model ``demo`` (conv1, conv2, conv3)."""
    return with_demo(catalog)


@pytest.fixture
def other_db_url(dialect, _postgres, _sqlite_template, tmp_path) -> Iterator[str]:
    """A second fresh, migrated database of the same dialect (another lab's catalogue)."""
    yield from _fresh_url(dialect, True, _postgres, _sqlite_template, tmp_path)


INCEPTION_LAYERS = [
    ("conv2d0", 64), ("conv2d1", 64), ("conv2d2", 192), ("mixed3a", 256), ("mixed3b", 480),
    ("mixed4a", 508), ("mixed4b", 512), ("mixed4c", 512), ("mixed4d", 528), ("mixed4e", 832),
    ("mixed5a", 832), ("mixed5b", 1024),
]


def inception_layers() -> list[dict]:
    """InceptionV1's studied layers as a registration lists them (without map sizes)."""
    return [{"name": n, "kind": "conv" if n.startswith("conv") else "concat", "channels": c}
            for n, c in INCEPTION_LAYERS]


def with_inception_seed(cat: Catalog) -> None:
    """InceptionV1 registered and its published seed loaded (seconds; on PostgreSQL about ten)."""
    cat.add_model("inceptionv1", "inceptionv1", layers=inception_layers())
    cat.load_seed("inceptionv1")


@pytest.fixture
def seeded_inception(catalog_templates: CatalogTemplates, dialect: str, tmp_path) -> Iterator[Catalog]:
    """A catalogue (users as in ``catalog``) with the InceptionV1 seed loaded: a copy of one
    built once per session and dialect, for tests that read the seed (they may write)."""
    yield from catalog_templates.copy("inception", with_inception_seed, dialect, tmp_path)


TEST_FACTORY_MODULES = "tiny_models,atlas.compute.models.demo_cnn"


@pytest.fixture
def allow_test_factories(monkeypatch: pytest.MonkeyPatch) -> str:
    """Allow the factories tests register models with (``tiny_models:tiny``, ``DemoCNN``):
    ``module:factory`` architectures are refused unless an admin allows their module."""
    monkeypatch.setenv("ATLAS_ALLOWED_FACTORY_MODULES", TEST_FACTORY_MODULES)
    return TEST_FACTORY_MODULES
