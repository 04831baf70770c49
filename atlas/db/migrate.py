"""Schema migrations through alembic, callable from Python (CLI, tests, demo).

The alembic environment lives at the repository root (``alembic.ini``, ``migrations/``),
so ``alembic upgrade head`` works too; these helpers build the same configuration.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from sqlalchemy import Engine

from atlas.db.models import Base
from atlas.errors import InvalidInput

ROOT = Path(__file__).resolve().parents[2]


def alembic_config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    # ConfigParser interpolation: a literal % in a password must be doubled.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def revisions_undone(current: str | None, target: str) -> list[str]:
    """``rev (what it did)`` of each migration that downgrading from ``current`` to
    ``target`` undoes, newest first; InvalidInput for an unknown target."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    try:
        revisions = list(script.iterate_revisions(current, target)) if current else []
    except RevisionError as exc:
        raise InvalidInput(f"cannot downgrade from {current} to {target!r}: {exc}") from None
    return [f"{r.revision} ({r.doc})" for r in revisions]


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def include_name(name: str | None, type_: str, parent_names: dict) -> bool:
    """What autogenerate compares: the models' tables, not the FTS5 table and its shadow
    tables (SQLite), nor the generated tsv column and its GIN index (PostgreSQL)."""
    if type_ == "table":
        return name in Base.metadata.tables
    if type_ == "column" and parent_names.get("table_name") == "search_docs":
        return name != "tsv"
    if type_ == "index":
        return name != "ix_search_docs_tsv"
    return True
