"""artifact outcome: what a computation found, beside the images it made

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30

- ``artifacts.outcome``: a small JSON object of figures about the result, e.g. a feature
  visualization's final activation and its image's contrast, so a render that failed (no
  response, a flat image) is flagged instead of shown as a picture of the feature. Null for
  artifacts computed before (and for kinds that record none).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("artifacts") as batch:
        batch.add_column(sa.Column("outcome", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("artifacts") as batch:
        batch.drop_column("outcome")
