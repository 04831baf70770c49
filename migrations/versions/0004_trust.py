"""trust: inert imported models, an append-only audit log, self-review, store identity

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

- ``models.origin``: where an imported model came from; such a model is metadata only
  until an admin registers it here with local weights.
- ``audit_log.on_behalf_of``: an admin acting for another user is recorded with both.
- ``labels.self_review``: a reviewer deciding on their own label text.
- ``settings``: catalogue-wide settings (the identity of its blob store).
- Triggers make ``audit_log`` append-only in the database itself: UPDATE and DELETE (and
  TRUNCATE on PostgreSQL) are refused, whoever connects.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGE = "audit_log is append-only"

SQLITE_TRIGGERS = [
    f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
    for event in ("UPDATE", "DELETE")
]
POSTGRES_TRIGGERS = [
    "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    f"$$ BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$",
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
]


def upgrade() -> None:
    op.add_column("models", sa.Column("origin", sa.String(length=300), nullable=True))
    op.add_column("audit_log", sa.Column("on_behalf_of", sa.String(length=100), nullable=True))
    op.add_column("labels", sa.Column("self_review", sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    op.create_table(
        "settings",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_settings")),
    )
    for statement in SQLITE_TRIGGERS if op.get_bind().dialect.name == "sqlite" else POSTGRES_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for event in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS audit_log_no_{event}")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    op.drop_table("settings")
    with op.batch_alter_table("labels") as batch:
        batch.drop_column("self_review")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("on_behalf_of")
    with op.batch_alter_table("models") as batch:
        batch.drop_column("origin")
