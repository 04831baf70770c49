"""relations: analogous features and similar layers across models

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-14

- ``relations``: a measured relation between two features (``analogous``: their
  activations correlate over a stimulus set; stored with their layers), two layers
  (``similar``: CKA) or, later, two families; with the method, the score, the stimuli it
  was measured on and the job that measured it. Written when a ``compare.match`` job
  completes (``atlas compare``).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
ENDS = ("(src_feature_id IS NULL) = (dst_feature_id IS NULL) AND "
        "(src_layer_id IS NULL) = (dst_layer_id IS NULL) AND "
        "(src_family_id IS NULL) = (dst_family_id IS NULL) AND "
        "(src_feature_id IS NULL OR src_layer_id IS NOT NULL) AND "
        "((src_layer_id IS NULL) <> (src_family_id IS NULL))")


def _end(column: str, table: str, ondelete: str = "CASCADE") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{table}.id"], name=op.f(f"fk_relations_{column}_{table}"),
                                   ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        "relations",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("relation", sa.String(length=20), nullable=False),
        sa.Column("method", sa.String(length=60), nullable=False),
        sa.Column("src_layer_id", BIG_ID, nullable=True),
        sa.Column("dst_layer_id", BIG_ID, nullable=True),
        sa.Column("src_feature_id", BIG_ID, nullable=True),
        sa.Column("dst_feature_id", BIG_ID, nullable=True),
        sa.Column("src_family_id", BIG_ID, nullable=True),
        sa.Column("dst_family_id", BIG_ID, nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("stimuli", JSON, nullable=False),
        sa.Column("stimuli_key", sa.String(length=64), nullable=False),
        sa.Column("details", JSON, nullable=True),
        sa.Column("job_id", BIG_ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("relation IN ('analogous', 'similar')", name=op.f("ck_relations_relation")),
        sa.CheckConstraint(ENDS, name=op.f("ck_relations_ends")),
        _end("src_layer_id", "layers"),
        _end("dst_layer_id", "layers"),
        _end("src_feature_id", "features"),
        _end("dst_feature_id", "features"),
        _end("src_family_id", "families"),
        _end("dst_family_id", "families"),
        _end("job_id", "jobs", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relations")),
    )
    op.create_index("ix_relations_layers", "relations", ["src_layer_id", "dst_layer_id", "relation", "method"])
    op.create_index("ix_relations_src_feature_id", "relations", ["src_feature_id"])
    op.create_index("ix_relations_dst_feature_id", "relations", ["dst_feature_id"])


def downgrade() -> None:
    op.drop_index("ix_relations_dst_feature_id", table_name="relations")
    op.drop_index("ix_relations_src_feature_id", table_name="relations")
    op.drop_index("ix_relations_layers", table_name="relations")
    op.drop_table("relations")
