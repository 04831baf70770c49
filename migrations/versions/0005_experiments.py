"""experiments: claims tested by runs, with a verdict each

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-10

- ``circuit_claims.status`` may also be ``held`` or ``inconclusive``: a claim with an
  experiment follows the verdict of its latest run.
- ``claim_results``: every run of a claim's experiment (verdict, numbers, what
  reproduces it, its plot), kept as the claim's history.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
OLD = "status IN ('untested', 'supported', 'refuted')"
NEW = "status IN ('untested', 'supported', 'held', 'refuted', 'inconclusive')"


def _claim_statuses(check: str) -> None:
    with op.batch_alter_table("circuit_claims") as batch:
        batch.drop_constraint(op.f("ck_circuit_claims_status"), type_="check")
        batch.create_check_constraint("status", check)


def upgrade() -> None:
    _claim_statuses(NEW)
    op.create_table(
        "claim_results",
        sa.Column("id", BigId, nullable=False),
        sa.Column("claim_id", BigId, nullable=False),
        sa.Column("verdict", sa.String(length=20), nullable=False),
        sa.Column("result", Json, nullable=False),
        sa.Column("blobs", Json, nullable=False),
        sa.Column("job_id", BigId, nullable=True),
        sa.Column("author_id", BigId, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("verdict IN ('held', 'refuted', 'inconclusive')", name=op.f("ck_claim_results_verdict")),
        sa.ForeignKeyConstraint(["claim_id"], ["circuit_claims.id"], name=op.f("fk_claim_results_claim_id_circuit_claims"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_claim_results_job_id_jobs"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_claim_results_author_id_users"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_results")),
    )
    op.create_index("ix_claim_results_claim_id", "claim_results", ["claim_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_claim_results_claim_id", table_name="claim_results")
    op.drop_table("claim_results")
    op.execute("UPDATE circuit_claims SET status = 'untested' WHERE status IN ('held', 'inconclusive')")
    _claim_statuses(OLD)
