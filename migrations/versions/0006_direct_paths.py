"""direct paths: how each slice of a layer is wired to the layer before

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

- ``direct_paths``: per layer pair, which channels of the destination a conv writes from
  the source directly, through a pool ("pooled": its kernels are in pooled coordinates),
  or only through other convs ("indirect": no direct weights; the Inception 3x3 and 5x5
  branches behind their bottlenecks). Written with the pair's direct edges.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "direct_paths",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("src_layer_id", BIG_ID, nullable=False),
        sa.Column("dst_layer_id", BIG_ID, nullable=False),
        sa.Column("dst_start", sa.Integer(), nullable=False),
        sa.Column("dst_count", sa.Integer(), nullable=False),
        sa.Column("src_start", sa.Integer(), nullable=False),
        sa.Column("src_count", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("conv", sa.String(length=200), nullable=False),
        sa.Column("route", sa.Text(), nullable=False),
        sa.CheckConstraint("kind IN ('direct', 'pooled', 'indirect')", name=op.f("ck_direct_paths_kind")),
        sa.ForeignKeyConstraint(["src_layer_id"], ["layers.id"], name=op.f("fk_direct_paths_src_layer_id_layers"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["dst_layer_id"], ["layers.id"], name=op.f("fk_direct_paths_dst_layer_id_layers"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_direct_paths")),
    )
    op.create_index("ix_direct_paths_dst_layer_id", "direct_paths", ["dst_layer_id"])
    op.create_index("ix_direct_paths_src_layer_id", "direct_paths", ["src_layer_id"])


def downgrade() -> None:
    op.drop_index("ix_direct_paths_src_layer_id", table_name="direct_paths")
    op.drop_index("ix_direct_paths_dst_layer_id", table_name="direct_paths")
    op.drop_table("direct_paths")
