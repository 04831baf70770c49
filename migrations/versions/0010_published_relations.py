"""published relations: family links a source states, with no measured score

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30

- ``relations.relation`` may be ``inputs_of`` too: a family's members are the inputs of
  another family's (a circuit between two layers, as a source shows it).
- ``relations.source``: the URL of the source that states a ``published`` relation (e.g.
  the InceptionV1 seed's family links: early curves are analogous to, and the inputs of,
  curves). Such a relation is not measured here, so ``relations.score`` becomes nullable,
  and null exactly for ``published`` relations (check ``score``), which alone carry a
  source (check ``source``). Relations stored before are all measured: they keep their
  scores and have no source.
- Downgrading deletes the published relations (the schema before has nowhere to keep them
  honestly) and the ``inputs_of`` ones.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PUBLISHED = "published"
RELATIONS_BEFORE = "relation IN ('analogous', 'similar')"
RELATIONS_AFTER = "relation IN ('analogous', 'similar', 'inputs_of')"


def upgrade() -> None:
    with op.batch_alter_table("relations") as batch:
        batch.add_column(sa.Column("source", sa.String(length=500), nullable=True))
        batch.alter_column("score", existing_type=sa.Float(), nullable=True)
        batch.drop_constraint(op.f("ck_relations_relation"), type_="check")
        batch.create_check_constraint(op.f("ck_relations_relation"), RELATIONS_AFTER)
        batch.create_check_constraint(op.f("ck_relations_score"), f"(score IS NULL) = (method = '{PUBLISHED}')")
        batch.create_check_constraint(op.f("ck_relations_source"), f"(source IS NULL) = (method <> '{PUBLISHED}')")


def downgrade() -> None:
    relations = sa.table("relations", sa.column("method", sa.String), sa.column("relation", sa.String))
    op.execute(sa.delete(relations).where(sa.or_(relations.c.method == PUBLISHED,
                                                 relations.c.relation == "inputs_of")))
    with op.batch_alter_table("relations") as batch:
        batch.drop_constraint(op.f("ck_relations_source"), type_="check")
        batch.drop_constraint(op.f("ck_relations_score"), type_="check")
        batch.drop_constraint(op.f("ck_relations_relation"), type_="check")
        batch.create_check_constraint(op.f("ck_relations_relation"), RELATIONS_BEFORE)
        batch.alter_column("score", existing_type=sa.Float(), nullable=False)
        batch.drop_column("source")
