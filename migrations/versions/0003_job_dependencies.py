"""job dependencies: a `waiting` status and the job_dependencies table

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

A job can wait for other jobs (a layer pair's ranking waits for its chunk jobs). The
status check of `jobs` gains `waiting`; on SQLite, batch mode rebuilds the table for that.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OLD_STATUSES = "status IN ('queued', 'running', 'done', 'failed', 'cancelled')"
NEW_STATUSES = "status IN ('waiting', 'queued', 'running', 'done', 'failed', 'cancelled')"


def _status_check(condition: str) -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_constraint(op.f("ck_jobs_status"), type_="check")
        batch.create_check_constraint("status", condition)


def upgrade() -> None:
    _status_check(NEW_STATUSES)
    op.create_table(
        "job_dependencies",
        sa.Column("job_id", BIG_ID, nullable=False),
        sa.Column("needs_job_id", BIG_ID, nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_job_dependencies_job_id_jobs"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["needs_job_id"], ["jobs.id"],
                                name=op.f("fk_job_dependencies_needs_job_id_jobs"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id", "needs_job_id", name=op.f("pk_job_dependencies")),
    )
    op.create_index("ix_job_dependencies_needs_job_id", "job_dependencies", ["needs_job_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_job_dependencies_needs_job_id", table_name="job_dependencies")
    op.drop_table("job_dependencies")
    # Without dependencies there is nothing to wait for.
    op.execute("UPDATE jobs SET status = 'queued' WHERE status = 'waiting'")
    _status_check(OLD_STATUSES)
