"""search ranking keys: stored with each document and indexed in rank order

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30

Search ranks hits in bands read in index order (``atlas.catalog.search``), so the keys that
do not depend on the query are stored with each document of ``search_docs``:

- ``standing``: 0 accepted label; 1 proposed label, family or circuit; 2 note or claim;
  3 disputed label; 4 the rest;
- ``known``: 0 when the document's feature has evidence or is in a circuit, else 1;
- ``title_key``: the title as a query reads it (words, lower case, common words left out),
  in byte order on PostgreSQL (``COLLATE "C"``) so that "starts with" is a range there too;
- ``title_words``, ``body_words``: the lengths of title and body, in words.

Existing documents get their keys here, computed with the catalogue's own definitions
(``atlas.catalog.fulltext``). Two indexes serve the bands: ``ix_search_docs_rank``
(standing, known, title_words, body_words, kind, target) and ``ix_search_docs_title_key``
(title_key, standing). On SQLite the update trigger now fires only when the text changes,
so that writing the keys does not re-index the text.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from atlas.catalog.fulltext import rank_keys

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000
KEYS = ("standing", "title_key", "title_words", "body_words")
UPDATE_TRIGGER = (
    "CREATE TRIGGER search_docs_au AFTER UPDATE {columns}ON search_docs BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, title, body) "
    "VALUES ('delete', old.id, old.title, old.body); "
    "INSERT INTO search_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END"
)
docs = sa.table("search_docs", sa.column("id", sa.Integer), sa.column("kind", sa.String),
                sa.column("status", sa.String), sa.column("title", sa.Text), sa.column("body", sa.Text),
                sa.column("feature_id", sa.Integer), sa.column("standing", sa.SmallInteger),
                sa.column("known", sa.SmallInteger), sa.column("title_key", sa.Text),
                sa.column("title_words", sa.Integer), sa.column("body_words", sa.Integer))


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    key_type = sa.Text() if sqlite else sa.Text(collation="C")
    op.add_column("search_docs", sa.Column("standing", sa.SmallInteger(), nullable=False, server_default="4"))
    op.add_column("search_docs", sa.Column("known", sa.SmallInteger(), nullable=False, server_default="1"))
    op.add_column("search_docs", sa.Column("title_key", key_type, nullable=False, server_default=""))
    op.add_column("search_docs", sa.Column("title_words", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("search_docs", sa.Column("body_words", sa.Integer(), nullable=False, server_default="0"))
    if sqlite:
        op.execute("DROP TRIGGER search_docs_au")
        op.execute(UPDATE_TRIGGER.format(columns="OF title, body "))
    _write_keys()
    op.create_index("ix_search_docs_rank", "search_docs",
                    ["standing", "known", "title_words", "body_words", "kind", "target"])
    op.create_index("ix_search_docs_title_key", "search_docs", ["title_key", "standing"])


def _write_keys() -> None:
    conn = op.get_bind()
    last = 0
    while rows := conn.execute(sa.select(docs.c.id, docs.c.kind, docs.c.status, docs.c.title, docs.c.body)
                               .where(docs.c.id > last).order_by(docs.c.id).limit(BATCH)).all():
        conn.execute(
            sa.update(docs).where(docs.c.id == sa.bindparam("doc_id")).values(
                {name: sa.bindparam(f"new_{name}") for name in KEYS}),
            [{"doc_id": r.id, **{f"new_{name}": value for name, value in rank_keys(r.kind, r.status, r.title,
                                                                                    r.body).items()}}
             for r in rows],
        )
        last = rows[-1].id
    conn.execute(sa.text("UPDATE search_docs SET known = 0 WHERE feature_id IN (SELECT feature_id FROM evidence "
                         "WHERE feature_id IS NOT NULL UNION SELECT feature_id FROM circuit_nodes)"))


def downgrade() -> None:
    op.drop_index("ix_search_docs_title_key", table_name="search_docs")
    op.drop_index("ix_search_docs_rank", table_name="search_docs")
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("DROP TRIGGER search_docs_au")
        op.execute(UPDATE_TRIGGER.format(columns=""))
    for name in ("body_words", "title_words", "title_key", "known", "standing"):
        if sqlite:  # SQLite 3.35+ drops a column in place (batch mode would drop the FTS triggers)
            op.execute(f"ALTER TABLE search_docs DROP COLUMN {name}")
        else:
            op.drop_column("search_docs", name)
