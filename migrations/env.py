"""Alembic environment: one metadata, both dialects, batch mode for SQLite."""

from alembic import context
from sqlalchemy.pool import NullPool

from atlas.db.engine import default_database_url, make_engine
from atlas.db.migrate import include_name
from atlas.db.models import Base

config = context.config
target_metadata = Base.metadata


def database_url() -> str:
    # Set by atlas.db.migrate; plain `alembic` falls back to ATLAS_DATABASE_URL or the default.
    return config.get_main_option("sqlalchemy.url") or default_database_url()


COMMON = dict(
    target_metadata=target_metadata,
    render_as_batch=True,
    include_name=include_name,
    compare_type=True,
)


def run_migrations_offline() -> None:
    context.configure(url=database_url(), literal_binds=True, **COMMON)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(database_url(), create_sqlite_file=True, poolclass=NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, **COMMON)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
